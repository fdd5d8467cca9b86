"""deploy/template.yaml: the alarms can fire, and they watch the metrics the function emits."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML comes with moto, without its stubs

from aws_lambda.support import FakeContext, Tables, emf_documents, load_event, messy_lead
from llm_normalize.aws_lambda import InvocationError, handler
from llm_normalize.aws_lambda._backend_env import LAMBDA_BACKENDS, _is_http_url
from llm_normalize.aws_lambda.telemetry import (
    DEFAULT_METRICS_NAMESPACE,
    DEFAULT_SERVICE,
    METRIC_LEADS_DEFERRED,
    METRIC_MODEL_THROTTLES,
    METRIC_SCHEDULED_RUN_COMPLETED,
    METRIC_SCHEDULED_RUN_FAILED,
)
from llm_normalize.exceptions import StorageError
from llm_normalize.pipeline import Normalizer

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "template.yaml"
SERVICE_DIMENSION = [{"Name": "service", "Value": {"Ref": "ServiceName"}}]


def _short_tag(loader: Any, suffix: str, node: Any) -> dict[str, Any]:
    """Read CloudFormation's short tags (!Ref, !GetAtt, !Sub, ...) as their long form."""
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}": value}


# A SafeLoader of our own, so the tags are not added to PyYAML's shared SafeLoader.
_CloudFormationLoader: Any = type("_CloudFormationLoader", (yaml.SafeLoader,), {})
_CloudFormationLoader.add_multi_constructor("!", _short_tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(
        TEMPLATE.read_text(encoding="utf-8"), Loader=_CloudFormationLoader
    )
    return loaded


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def alarm(template: dict[str, Any], name: str) -> dict[str, Any]:
    found = template["Resources"][name]
    assert found["Type"] == "AWS::CloudWatch::Alarm"
    properties: dict[str, Any] = found["Properties"]
    assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    return properties


def function_metric(properties: dict[str, Any], name: str) -> None:
    """The alarm watches `name` in the function's namespace, dimension service."""
    assert properties["Namespace"] == {"Ref": "MetricsNamespace"}
    assert properties["MetricName"] == name
    assert properties["Dimensions"] == SERVICE_DIMENSION
    assert properties["Statistic"] == "Sum"


class TestAlarms:
    def test_failed_scheduled_run(self, template: dict[str, Any]) -> None:
        """One failed scheduled run is enough to fire the alarm."""
        properties = alarm(template, "ScheduledRunFailedAlarm")
        function_metric(properties, METRIC_SCHEDULED_RUN_FAILED)
        assert properties["Threshold"] == 1
        assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert properties["EvaluationPeriods"] == 1
        assert properties["TreatMissingData"] == "notBreaching"

    def test_missing_daily_run(self, template: dict[str, Any]) -> None:
        """No heartbeat over a day and the retry's hour fires: missing data is breaching."""
        properties = alarm(template, "ScheduledRunMissingAlarm")
        function_metric(properties, METRIC_SCHEDULED_RUN_COMPLETED)
        assert properties["TreatMissingData"] == "breaching"
        assert properties["ComparisonOperator"] == "LessThanThreshold"
        assert properties["Threshold"] == 1
        window = properties["Period"] * properties["EvaluationPeriods"]
        # Longer than the day between runs plus the retry's hour (no false alarm when a
        # run is late), shorter than two days (a missed run fires before the next one),
        # and within CloudWatch's 7-day limit for periods of an hour or more.
        assert 86_400 + 3_600 < window < 2 * 86_400
        assert properties["Period"] >= 3_600
        assert (
            properties.get("DatapointsToAlarm", properties["EvaluationPeriods"])
            == (properties["EvaluationPeriods"])
        )
        # Only while the schedule runs, and the schedule is daily.
        condition = template["Conditions"][
            template["Resources"]["ScheduledRunMissingAlarm"]["Condition"]
        ]
        assert condition == {"Fn::Equals": [{"Ref": "ScheduleState"}, "ENABLED"]}
        function = template["Resources"]["NormalizeLeadsFunction"]["Properties"]
        assert function["Events"]["DailyRun"]["Properties"]["Schedule"] == "cron(0 7 * * ? *)"

    def test_deferred_leads(self, template: dict[str, Any]) -> None:
        """Any deferred lead in an hour fires."""
        properties = alarm(template, "LeadsDeferredAlarm")
        function_metric(properties, METRIC_LEADS_DEFERRED)
        assert properties["Threshold"] == 0
        assert properties["ComparisonOperator"] == "GreaterThanThreshold"

    def test_model_throttles(self, template: dict[str, Any]) -> None:
        """Throttles above a parameter (0 by default) in an hour fire."""
        properties = alarm(template, "ModelThrottlesAlarm")
        function_metric(properties, METRIC_MODEL_THROTTLES)
        assert properties["Threshold"] == {"Ref": "ThrottleAlarmThreshold"}
        assert properties["ComparisonOperator"] == "GreaterThanThreshold"
        assert template["Parameters"]["ThrottleAlarmThreshold"]["Default"] == 0

    def test_on_failure_destination(self, template: dict[str, Any]) -> None:
        """A failed asynchronous (scheduled) invocation goes to a queue, which alarms; the role may send."""
        function = template["Resources"]["NormalizeLeadsFunction"]["Properties"]
        destination = function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert destination == {
            "Type": "SQS",
            "Destination": {"Fn::GetAtt": ["ScheduledRunFailureQueue", "Arn"]},
        }
        queue = template["Resources"]["ScheduledRunFailureQueue"]
        assert queue["Type"] == "AWS::SQS::Queue"
        assert "Condition" not in queue
        [policy] = template["Resources"]["FunctionRole"]["Properties"]["Policies"]
        [grant] = [
            statement
            for statement in policy["PolicyDocument"]["Statement"]
            if statement.get("Sid") == "ScheduledRunFailureDestination"
        ]
        assert grant["Action"] == ["sqs:SendMessage"]
        assert grant["Resource"] == destination["Destination"]
        properties = alarm(template, "ScheduledRunFailureQueueAlarm")
        assert properties["Namespace"] == "AWS/SQS"
        assert properties["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert properties["Dimensions"] == [
            {
                "Name": "QueueName",
                "Value": {"Fn::GetAtt": ["ScheduledRunFailureQueue", "QueueName"]},
            }
        ]
        assert properties["Threshold"] == 0
        assert properties["ComparisonOperator"] == "GreaterThanThreshold"

    def test_metrics_defaults_match_telemetry(self, template: dict[str, Any]) -> None:
        """The namespace and service the function gets are telemetry's defaults."""
        parameters = template["Parameters"]
        assert parameters["MetricsNamespace"]["Default"] == DEFAULT_METRICS_NAMESPACE
        assert parameters["ServiceName"]["Default"] == DEFAULT_SERVICE
        variables = template["Resources"]["NormalizeLeadsFunction"]["Properties"]["Environment"][
            "Variables"
        ]
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}
        assert variables["POWERTOOLS_SERVICE_NAME"] == {"Ref": "ServiceName"}


def test_alarms_watch_metrics_the_function_emits(
    template: dict[str, Any],
    tables: Tables,
    runtime_on: Normalizer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every alarm on the function's namespace names a metric its EMF documents carry."""
    tables.put(messy_lead(1))
    handler(load_event("eventbridge_scheduled"), FakeContext())
    tables.store.fail_selection = StorageError("DynamoDB Scan on table 'x' failed")
    with pytest.raises(InvocationError):
        handler(load_event("eventbridge_scheduled"), FakeContext())
    documents = emf_documents(capsys.readouterr().out)
    assert len(documents) == 2
    emitted: set[str] = set()
    for document in documents:
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == DEFAULT_METRICS_NAMESPACE
        assert directive["Dimensions"] == [["service"]]
        assert document["service"] == DEFAULT_SERVICE
        emitted |= {entry["Name"] for entry in directive["Metrics"]}
    watched = {
        properties["MetricName"]
        for properties in (
            r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values()
        )
        if properties["Namespace"] == {"Ref": "MetricsNamespace"}
    }
    assert watched >= {
        METRIC_SCHEDULED_RUN_FAILED,
        METRIC_SCHEDULED_RUN_COMPLETED,
        METRIC_LEADS_DEFERRED,
        METRIC_MODEL_THROTTLES,
    }
    assert watched <= emitted


# -- the Bedrock model: foundation models and inference profiles ------------------------------

PROFILE_ID = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
PROFILE_ARN = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{PROFILE_ID}"
APPLICATION_PROFILE_ARN = (
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"
)
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
CFN_LINT = TEMPLATE.parents[1] / ".ci" / "cfn-venv" / "bin" / "cfn-lint"


def _evaluate(template: dict[str, Any], node: Any, parameters: dict[str, str]) -> Any:
    """Resolve the intrinsic functions the model statement uses, as CloudFormation would."""
    import re

    def ev(value: Any) -> Any:
        return _evaluate(template, value, parameters)

    def lookup(name: str, local: dict[str, Any]) -> str:
        if name in local:
            return str(ev(local[name]))
        return PSEUDO[name] if name in PSEUDO else parameters[name]

    if isinstance(node, list):
        return [ev(item) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) != 1:
        return {key: ev(value) for key, value in node.items()}
    ((function, argument),) = node.items()
    if function == "Ref":
        return lookup(argument, {})
    if function == "Condition":
        return ev(template["Conditions"][argument])
    if function == "Fn::Equals":
        return ev(argument[0]) == ev(argument[1])
    if function == "Fn::Not":
        return not ev(argument[0])
    if function == "Fn::And":
        return all(ev(item) for item in argument)
    if function == "Fn::Or":
        return any(ev(item) for item in argument)
    if function == "Fn::If":
        # Only the chosen branch is resolved, as in CloudFormation.
        name, then, otherwise = argument
        return ev(then if ev(template["Conditions"][name]) else otherwise)
    if function == "Fn::Split":
        return ev(argument[1]).split(argument[0])
    if function == "Fn::Select":
        return ev(argument[1])[int(argument[0])]
    if function == "Fn::Sub":
        text, local = (argument, {}) if isinstance(argument, str) else argument
        return re.sub(r"\$\{([^}]+)\}", lambda m: lookup(m.group(1), local), text)
    return {function: ev(argument)}


def _model_statement(template: dict[str, Any]) -> dict[str, Any]:
    role = template["Resources"]["FunctionRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    (statement,) = [s for s in statements if isinstance(s, dict) and s.get("Sid") == "BedrockModel"]
    return statement


def _model_resources(
    template: dict[str, Any], model_id: str, foundation_model_id: str = ""
) -> list[str]:
    parameters = {"BedrockModelId": model_id, "BedrockFoundationModelId": foundation_model_id}
    resolved = _evaluate(template, _model_statement(template)["Resource"], parameters)
    return resolved if isinstance(resolved, list) else [resolved]


class TestBedrockModel:
    @pytest.mark.parametrize(
        "model_id",
        [
            "anthropic.claude-3-haiku-20240307-v1:0",
            PROFILE_ID,
            "eu.anthropic.claude-3-5-haiku-20241022-v1:0",
            "apac.anthropic.claude-3-5-haiku-20241022-v1:0",
            "us-gov.anthropic.claude-3-5-haiku-20241022-v1:0",
            "global.anthropic.claude-sonnet-4-20250514-v1:0",
            PROFILE_ARN,
            APPLICATION_PROFILE_ARN,
        ],
    )
    def test_pattern_accepts(self, template: dict[str, Any], model_id: str) -> None:
        import re

        pattern = template["Parameters"]["BedrockModelId"]["AllowedPattern"]
        assert re.fullmatch(pattern, model_id)

    @pytest.mark.parametrize(
        "model_id",
        [
            "meta.llama3-1-70b-instruct-v1:0",
            "xx.anthropic.claude-3-5-haiku-20241022-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/*",
            "anthropic.claude-*",
            "*",
        ],
    )
    def test_pattern_refuses(self, template: dict[str, Any], model_id: str) -> None:
        import re

        pattern = template["Parameters"]["BedrockModelId"]["AllowedPattern"]
        assert not re.fullmatch(pattern, model_id)

    def test_one_action_no_wildcard(self, template: dict[str, Any]) -> None:
        assert _model_statement(template)["Action"] == ["bedrock:InvokeModel"]

    def test_foundation_model_in_this_region_only(self, template: dict[str, Any]) -> None:
        assert _model_resources(template, "anthropic.claude-3-haiku-20240307-v1:0") == [
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
        ]

    @pytest.mark.parametrize("model_id", [PROFILE_ID, PROFILE_ARN])
    def test_profile_and_its_model_in_every_region(
        self, template: dict[str, Any], model_id: str
    ) -> None:
        assert _model_resources(template, model_id) == [
            PROFILE_ARN,
            "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
        ]

    def test_global_profile(self, template: dict[str, Any]) -> None:
        model_id = "global.anthropic.claude-sonnet-4-20250514-v1:0"
        assert _model_resources(template, model_id) == [
            f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{model_id}",
            "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
        ]

    def test_application_profile_takes_the_named_model(self, template: dict[str, Any]) -> None:
        model = "anthropic.claude-3-5-haiku-20241022-v1:0"
        assert _model_resources(template, APPLICATION_PROFILE_ARN, model) == [
            APPLICATION_PROFILE_ARN,
            f"arn:aws:bedrock:*::foundation-model/{model}",
        ]

    def test_application_profile_without_model_grants_no_model(
        self, template: dict[str, Any]
    ) -> None:
        """Select still finds an element (no deploy error); the grant names no real model."""
        assert _model_resources(template, APPLICATION_PROFILE_ARN) == [
            APPLICATION_PROFILE_ARN,
            "arn:aws:bedrock:*::foundation-model/anthropic.",
        ]

    @pytest.mark.skipif(not CFN_LINT.exists(), reason="run deploy/lint.sh once to install cfn-lint")
    @pytest.mark.parametrize("model_id", [PROFILE_ID, PROFILE_ARN, APPLICATION_PROFILE_ARN])
    def test_lints_clean_with_a_profile_default(self, tmp_path: Path, model_id: str) -> None:
        """cfn-lint (SAM transform included) accepts the template with a profile as default."""
        import subprocess

        original = "    Default: anthropic.claude-3-haiku-20240307-v1:0\n"
        text = TEMPLATE.read_text(encoding="utf-8")
        assert text.count(original) == 1
        copy = tmp_path / "template.yaml"
        copy.write_text(text.replace(original, f"    Default: {model_id!r}\n"), encoding="utf-8")
        result = subprocess.run(
            [str(CFN_LINT), str(copy)], capture_output=True, text=True, timeout=300, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


# -- the OpenAI-compatible backend: its parameters, variables and secret ----------------------

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:llm-normalize/openai-AbC123"
NO_VALUE = "<AWS::NoValue>"


def _openai_parameters(
    backend: str = "openai", model: str = "gpt-4o-mini", base_url: str = "", secret: str = ""
) -> dict[str, str]:
    return {
        "NormalizationBackend": backend,
        "BedrockModelId": "anthropic.claude-3-haiku-20240307-v1:0",
        "OpenAIModelId": model,
        "OpenAIBaseUrl": base_url,
        "OpenAIApiKeySecretArn": secret,
        "AWS::NoValue": NO_VALUE,
    }


def _statements(template: dict[str, Any]) -> list[Any]:
    [policy] = template["Resources"]["FunctionRole"]["Properties"]["Policies"]
    statements: list[Any] = policy["PolicyDocument"]["Statement"]
    return statements


def _secret_statement(template: dict[str, Any], parameters: dict[str, str]) -> Any:
    """The secret's statement as CloudFormation resolves it (NO_VALUE when left out)."""
    [wrapped] = [
        statement
        for statement in _statements(template)
        if "secretsmanager" in json.dumps(statement)
    ]
    return _evaluate(template, wrapped, parameters)


class TestOpenAIBackend:
    def test_backends_are_the_functions(self, template: dict[str, Any]) -> None:
        """NormalizationBackend allows what the function accepts: bedrock, openai, rules."""
        allowed = template["Parameters"]["NormalizationBackend"]["AllowedValues"]
        assert sorted(allowed) == sorted(LAMBDA_BACKENDS) == ["bedrock", "openai", "rules"]

    def test_parameters_are_empty_by_default_and_grouped(self, template: dict[str, Any]) -> None:
        names = ["OpenAIModelId", "OpenAIBaseUrl", "OpenAIApiKeySecretArn"]
        for name in names:
            assert template["Parameters"][name]["Type"] == "String"
            assert template["Parameters"][name]["Default"] == ""
        groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        [group] = [g for g in groups if "NormalizationBackend" in g["Parameters"]]
        assert set(names) <= set(group["Parameters"])
        grouped = [name for g in groups for name in g["Parameters"]]
        assert sorted(grouped) == sorted(template["Parameters"])  # each parameter once

    def test_secret_statement_only_when_given(self, template: dict[str, Any]) -> None:
        """GetSecretValue on exactly that secret, with the openai backend and a secret only."""
        given = _secret_statement(template, _openai_parameters(secret=SECRET_ARN))
        assert given == {
            "Sid": "OpenAIApiKeySecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": SECRET_ARN,
        }
        assert _secret_statement(template, _openai_parameters()) == NO_VALUE
        bedrock = _openai_parameters(backend="bedrock", secret=SECRET_ARN)
        assert _secret_statement(template, bedrock) == NO_VALUE
        rules = _openai_parameters(backend="rules", secret=SECRET_ARN)
        assert _secret_statement(template, rules) == NO_VALUE

    def test_no_wildcard_actions(self, template: dict[str, Any]) -> None:
        """No statement's action has a wildcard, the secret's and the others alike."""
        actions = [
            action
            for statement in _statements(template)
            for action in re.findall(r'"Action": \[([^\]]*)\]', json.dumps(statement))
        ]
        assert actions
        assert not any("*" in action for action in actions)

    @pytest.mark.parametrize(
        ("parameters", "expected"),
        [
            (_openai_parameters(), {"BEDROCK_MODEL_ID": "gpt-4o-mini"}),
            (
                _openai_parameters(base_url="http://10.0.0.5:8000/v1", secret=SECRET_ARN),
                {
                    "BEDROCK_MODEL_ID": "gpt-4o-mini",
                    "OPENAI_BASE_URL": "http://10.0.0.5:8000/v1",
                    "OPENAI_API_KEY_SECRET_ARN": SECRET_ARN,
                },
            ),
            (
                _openai_parameters(backend="bedrock", base_url="http://x/v1", secret=SECRET_ARN),
                {"BEDROCK_MODEL_ID": "anthropic.claude-3-haiku-20240307-v1:0"},
            ),
        ],
    )
    def test_variables_only_as_given(
        self, template: dict[str, Any], parameters: dict[str, str], expected: dict[str, str]
    ) -> None:
        """The function gets OPENAI_* only when set and used; the model in BEDROCK_MODEL_ID."""
        variables = template["Resources"]["NormalizeLeadsFunction"]["Properties"]["Environment"][
            "Variables"
        ]
        names = ["BEDROCK_MODEL_ID", "OPENAI_BASE_URL", "OPENAI_API_KEY_SECRET_ARN"]
        resolved = {name: _evaluate(template, variables[name], parameters) for name in names}
        assert {k: v for k, v in resolved.items() if v != NO_VALUE} == expected
        assert variables["NORMALIZATION_BACKEND"] == {"Ref": "NormalizationBackend"}

    @pytest.mark.parametrize(
        ("url", "good"),
        [
            ("", True),
            ("https://api.openai.com/v1", True),
            ("http://10.0.0.5:8000/v1", True),
            ("https://llm.example.com", True),
            ("ftp://llm.example.com/v1", False),
            ("llm.example.com/v1", False),
            ("https://user:secret@llm.example.com/v1", False),
            ("https://llm.example.com/v1 ", False),
            ("http:///v1", False),
        ],
    )
    def test_base_url_pattern(self, template: dict[str, Any], url: str, good: bool) -> None:
        """The parameter refuses what the function would refuse (an empty one is no URL)."""
        pattern = template["Parameters"]["OpenAIBaseUrl"]["AllowedPattern"]
        assert bool(re.fullmatch(pattern, url)) is good
        if url:
            assert _is_http_url(url) is good

    @pytest.mark.parametrize(
        ("arn", "good"),
        [
            ("", True),
            (SECRET_ARN, True),
            ("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:key-Zz9Yy8", True),
            ("arn:aws:secretsmanager:us-east-1:123456789012:secret:llm-normalize/openai", False),
            ("arn:aws:secretsmanager:us-east-1:123456789012:secret:*", False),
            ("arn:aws:secretsmanager:us-east-1:123456789012:secret:openai-*", False),
            ("arn:aws:ssm:us-east-1:123456789012:parameter/openai-AbC123", False),
            ("llm-normalize/openai-AbC123", False),
        ],
    )
    def test_secret_arn_pattern(self, template: dict[str, Any], arn: str, good: bool) -> None:
        """Only a full secret ARN (IAM matches it exactly), never a wildcard."""
        pattern = template["Parameters"]["OpenAIApiKeySecretArn"]["AllowedPattern"]
        assert bool(re.fullmatch(pattern, arn)) is good

    @pytest.mark.parametrize(
        ("parameters", "failing"),
        [
            (_openai_parameters(secret=SECRET_ARN), set[str]()),
            (_openai_parameters(base_url="http://10.0.0.5:8000/v1"), set[str]()),
            (_openai_parameters(), {"OpenAIBackendNeedsAKeyOrAServer"}),
            (_openai_parameters(model="", secret=SECRET_ARN), {"OpenAIBackendNeedsAModel"}),
            (_openai_parameters(backend="bedrock", model=""), set[str]()),
        ],
    )
    def test_rules(
        self, template: dict[str, Any], parameters: dict[str, str], failing: set[str]
    ) -> None:
        """The stack refuses the openai backend without a model, or without a key or server."""
        failed = {
            name
            for name, rule in template["Rules"].items()
            if name.startswith("OpenAI")
            and _evaluate(template, rule["RuleCondition"], parameters)
            and not all(
                _evaluate(template, assertion["Assert"], parameters)
                for assertion in rule["Assertions"]
            )
        }
        assert failed == failing

    @pytest.mark.skipif(not CFN_LINT.exists(), reason="run deploy/lint.sh once to install cfn-lint")
    def test_lints_clean_with_openai_defaults(self, tmp_path: Path) -> None:
        """cfn-lint (SAM transform included) accepts the template with the openai backend set."""
        import subprocess

        text = TEMPLATE.read_text(encoding="utf-8")
        for name, value in {
            "NormalizationBackend": "bedrock",
            "OpenAIModelId": "",
            "OpenAIApiKeySecretArn": "",
        }.items():
            replaced = {
                "NormalizationBackend": "openai",
                "OpenAIModelId": "gpt-4o-mini",
                "OpenAIApiKeySecretArn": SECRET_ARN,
            }[name]
            original = f"  {name}:\n    Type: String\n    Default: {value or chr(34) * 2}\n"
            assert text.count(original) == 1
            text = text.replace(original, original.replace(value or chr(34) * 2, replaced))
        copy = tmp_path / "template.yaml"
        copy.write_text(text, encoding="utf-8")
        result = subprocess.run(
            [str(CFN_LINT), str(copy)], capture_output=True, text=True, timeout=300, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


# -- the value cache table ----------------------------------------------------------------------


def _cache_parameters(create: str) -> dict[str, str]:
    return {"CreateValueCache": create, "ValueCacheTTLDays": "30", "AWS::NoValue": NO_VALUE}


def _cache_statement(template: dict[str, Any], create: str) -> Any:
    [wrapped] = [
        statement
        for statement in _statements(template)
        if "ValueCacheTable" in json.dumps(statement)
    ]
    return _evaluate(template, wrapped, _cache_parameters(create))


class TestValueCache:
    def test_parameters(self, template: dict[str, Any]) -> None:
        """The cache is created by default; its entries live a configurable number of days."""
        parameters = template["Parameters"]
        assert parameters["CreateValueCache"]["Default"] == "true"
        assert parameters["CreateValueCache"]["AllowedValues"] == ["true", "false"]
        ttl = parameters["ValueCacheTTLDays"]
        assert (ttl["Type"], ttl["Default"], ttl["MinValue"]) == ("Number", 30, 1)
        assert template["Conditions"]["UseValueCache"] == {
            "Fn::Equals": [{"Ref": "CreateValueCache"}, "true"]
        }

    def test_table(self, template: dict[str, Any]) -> None:
        """On demand, encrypted, keyed and expiring as DynamoDBValueCache writes its items."""
        from llm_normalize.caches import dynamodb

        table = template["Resources"]["ValueCacheTable"]
        assert table["Type"] == "AWS::DynamoDB::Table"
        assert table["Condition"] == "UseValueCache"
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Delete"
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["KeySchema"] == [
            {"AttributeName": dynamodb._CACHE_KEY, "KeyType": "HASH"}
        ]
        assert properties["AttributeDefinitions"] == [
            {"AttributeName": dynamodb._CACHE_KEY, "AttributeType": "S"}
        ]
        assert properties["TimeToLiveSpecification"] == {
            "AttributeName": dynamodb._CACHE_EXPIRES,
            "Enabled": True,
        }
        assert properties["SSESpecification"] == {"SSEEnabled": True}

    def test_role_limited_to_the_table(self, template: dict[str, Any]) -> None:
        """Reads and writes of items on that table only, and only when it exists; no Scan."""
        assert _cache_statement(template, "true") == {
            "Sid": "ValueCacheTable",
            "Effect": "Allow",
            "Action": [
                "dynamodb:BatchGetItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
            ],
            "Resource": {"Fn::GetAtt": ["ValueCacheTable", "Arn"]},
        }
        assert _cache_statement(template, "false") == NO_VALUE

    def test_function_variables(self, template: dict[str, Any]) -> None:
        """VALUE_CACHE_TABLE only when the table exists; VALUE_CACHE_TTL_DAYS from the parameter."""
        variables = template["Resources"]["NormalizeLeadsFunction"]["Properties"]["Environment"][
            "Variables"
        ]
        table = variables["VALUE_CACHE_TABLE"]
        # The table's name stands in for its Ref, as a parameter's value does.
        created = {**_cache_parameters("true"), "ValueCacheTable": "stack-value-cache"}
        assert _evaluate(template, table, created) == "stack-value-cache"
        assert _evaluate(template, table, _cache_parameters("false")) == NO_VALUE
        assert variables["VALUE_CACHE_TTL_DAYS"] == {"Ref": "ValueCacheTTLDays"}
        output = template["Outputs"]["ValueCacheTableName"]
        assert output == {
            "Condition": "UseValueCache",
            "Description": output["Description"],
            "Value": {"Ref": "ValueCacheTable"},
        }

    def test_the_cache_calls_only_what_the_role_allows(self, template: dict[str, Any]) -> None:
        """Every operation the function's cache sends (get, set and their batches) is granted."""
        from dynamo_server import dynamodb_endpoint, make_client, unique_table_name
        from llm_normalize.caches import TieredCache, cache_key
        from llm_normalize.caches.dynamodb import DynamoDBValueCache, create_cache_table

        client = make_client(dynamodb_endpoint())
        name = unique_table_name("cache")
        create_cache_table(client, name)
        sent: set[str] = set()
        client.meta.events.register(
            "before-call.dynamodb", lambda model, **_: sent.add(f"dynamodb:{model.name}")
        )
        cache = TieredCache(DynamoDBValueCache(name, client=client))
        keys = [cache_key("ciudad", f"pueblo {n}", "v1@m") for n in range(3)]
        cache.set(keys[0], "A")
        cache.set_many({keys[1]: "B"})
        cache.front.purge("v1")  # type: ignore[attr-defined]
        assert cache.get(keys[0]) == "A"
        assert cache.get_many(keys) == {keys[0]: "A", keys[1]: "B"}
        client.close()
        assert sent
        assert sent <= set(_cache_statement(template, "true")["Action"])

    @pytest.mark.skipif(not CFN_LINT.exists(), reason="run deploy/lint.sh once to install cfn-lint")
    def test_lints_clean_without_the_cache(self, tmp_path: Path) -> None:
        """cfn-lint (SAM transform included) accepts the template with CreateValueCache false."""
        import subprocess

        original = '  CreateValueCache:\n    Type: String\n    Default: "true"\n'
        text = TEMPLATE.read_text(encoding="utf-8")
        assert text.count(original) == 1
        copy = tmp_path / "template.yaml"
        copy.write_text(
            text.replace(original, original.replace('"true"', '"false"')), encoding="utf-8"
        )
        result = subprocess.run(
            [str(CFN_LINT), str(copy)], capture_output=True, text=True, timeout=300, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
