"""deploy/template.yaml: the fan-out planner function, its role, schedule and alarm."""

from __future__ import annotations

import importlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML comes with moto, without its stubs

from aws_lambda.test_template import CFN_LINT, TEMPLATE, _CloudFormationLoader
from fanout_support import fresh_queue, leads_table, record_calls
from llm_normalize.fanout import plan_fanout

PLANNER = ("PlannerLogGroup", "PlannerRole", "PlanLeadsFunction", "PlannerErrorsAlarm")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(
        TEMPLATE.read_text(encoding="utf-8"), Loader=_CloudFormationLoader
    )
    return loaded


def statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    role = template["Resources"]["PlannerRole"]["Properties"]
    [policy] = role["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


class TestPlannerResources:
    def test_created_only_with_sqs_workers(self, template: dict[str, Any]) -> None:
        """The planner, its role, log group and alarm exist only with EnableSqsWorkers."""
        for name in PLANNER:
            assert template["Resources"][name]["Condition"] == "UseSqs"
        assert template["Outputs"]["PlannerFunctionName"]["Condition"] == "UseSqs"

    def test_handler_is_the_planner(self, template: dict[str, Any]) -> None:
        """The handler string names the planner's entrypoint, which exists."""
        properties = template["Resources"]["PlanLeadsFunction"]["Properties"]
        module, _, name = properties["Handler"].rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))
        assert module == "llm_normalize.aws_lambda.planner"
        assert properties["Role"] == {"Fn::GetAtt": ["PlannerRole", "Arn"]}
        assert properties["LoggingConfig"] == {"LogGroup": {"Ref": "PlannerLogGroup"}}

    def test_role_scans_the_leads_and_sends_to_the_work_queue_only(
        self, template: dict[str, Any]
    ) -> None:
        """Least privilege: Scan on the leads table, SendMessage on the work queue, its own logs."""
        found = statements(template)
        assert set(found) == {"LeadsTableScan", "WorkQueueSend", "OwnLogGroup"}
        assert found["LeadsTableScan"]["Action"] == ["dynamodb:Scan"]
        assert found["LeadsTableScan"]["Resource"]["Fn::If"][1] == {
            "Fn::GetAtt": ["LeadsTable", "Arn"]
        }
        assert found["WorkQueueSend"]["Action"] == ["sqs:SendMessage"]
        assert found["WorkQueueSend"]["Resource"] == {"Fn::GetAtt": ["WorkQueue", "Arn"]}
        assert found["OwnLogGroup"]["Resource"] == {"Fn::GetAtt": ["PlannerLogGroup", "Arn"]}
        assert "*" not in json.dumps([s["Action"] for s in found.values()])

    def test_environment_is_what_the_planner_reads(self, template: dict[str, Any]) -> None:
        """The variables name the leads table, the work queue and the plan's bounds."""
        from llm_normalize.aws_lambda import planner

        variables = template["Resources"]["PlanLeadsFunction"]["Properties"]["Environment"][
            "Variables"
        ]
        assert variables["WORK_QUEUE_URL"] == {"Ref": "WorkQueue"}
        assert variables["PLAN_SEGMENTS"] == {"Ref": "PlanSegments"}
        assert variables["PLAN_MAX_LEADS"] == {"Ref": "PlanMaxLeads"}
        assert variables["NORMALIZATION_TTL_DAYS"] == {"Ref": "NormalizationTTLDays"}
        worker = template["Resources"]["NormalizeLeadsFunction"]["Properties"]["Environment"]
        assert variables["LEADS_TABLE"] == worker["Variables"]["LEADS_TABLE"]
        documented = planner.__doc__ or ""
        assert all(
            f"``{name}``" in documented for name in variables if name.startswith(("PLAN_", "WORK_"))
        )

    def test_schedule_is_a_parameter_disabled_by_default(self, template: dict[str, Any]) -> None:
        """The planner's schedule is opt-in, so turning the workers on changes nothing by itself."""
        event = template["Resources"]["PlanLeadsFunction"]["Properties"]["Events"]["Plan"]
        assert event["Type"] == "Schedule"
        assert event["Properties"]["Schedule"] == {"Ref": "PlanSchedule"}
        assert event["Properties"]["State"] == {"Ref": "PlanScheduleState"}
        assert template["Parameters"]["PlanScheduleState"]["Default"] == "DISABLED"

    def test_alarm_watches_the_planners_errors(self, template: dict[str, Any]) -> None:
        """A failed plan (after its retries) reaches the alarm topic."""
        alarm = template["Resources"]["PlannerErrorsAlarm"]["Properties"]
        assert alarm["MetricName"] == "Errors"
        assert alarm["Dimensions"] == [
            {"Name": "FunctionName", "Value": {"Ref": "PlanLeadsFunction"}}
        ]
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]

    def test_the_planner_calls_only_what_the_role_allows(self, template: dict[str, Any]) -> None:
        """Every operation a plan sends (Scan; SendMessageBatch, which sqs:SendMessage authorizes) is granted."""
        granted = {action for s in statements(template).values() for action in s["Action"]}
        authorized_by = {
            "dynamodb:Scan": "dynamodb:Scan",
            "sqs:SendMessageBatch": "sqs:SendMessage",
        }
        sqs, url = fresh_queue(fifo=False)
        with leads_table(30) as table:
            calls = record_calls(table.client)
            record_calls(sqs, calls)
            plan_fanout(table.store, url, ttl_days=7, sqs_client=sqs, segments=2)
            sent = {f"{'dynamodb' if name == 'Scan' else 'sqs'}:{name}" for name, _ in calls}
        assert sent == {"dynamodb:Scan", "sqs:SendMessageBatch"}
        assert {authorized_by[action] for action in sent} <= granted

    @pytest.mark.skipif(not CFN_LINT.exists(), reason="run deploy/lint.sh once to install cfn-lint")
    def test_lints_clean_with_the_planner_on(self, tmp_path: Path) -> None:
        """cfn-lint (SAM transform included) accepts the template with the workers and the plan's schedule on."""
        text = TEMPLATE.read_text(encoding="utf-8")
        for name, old, new in [
            ("EnableSqsWorkers", '"false"', '"true"'),
            ("PlanScheduleState", "DISABLED", "ENABLED"),
        ]:
            original = f"  {name}:\n    Type: String\n    Default: {old}\n"
            assert text.count(original) == 1
            text = text.replace(original, original.replace(old, new))
        copy = tmp_path / "template.yaml"
        copy.write_text(text, encoding="utf-8")
        result = subprocess.run(
            [str(CFN_LINT), str(copy)], capture_output=True, text=True, timeout=300, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
