"""The honest-model check of issue 11: the guard must not reject a correct normalization.

An honest model answers each value with its correct normalization: the rules' output, or a
correction a good model makes where the rules are unsure (a city or company typo fixed, an
abbreviation expanded, an address written in the convention). The answers are:

- the 2,000-lead sample with every field forced to the model, through the pipeline;
- `guard_lies.HONEST_CORRECTIONS`, checked as the pipeline checks them;
- the (input, expected) pairs of the post-processors' example tests.

At least 97% must pass, and every rejection is listed in the assertion message.
``python tests/guard_lies.py`` prints the same summary.
"""

from guard_lies import (
    HONEST_CORRECTIONS,
    HonestAnswer,
    check_honest,
    honest_results,
    postprocessor_examples,
    render_honest_summary,
)
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS

_TARGET = 0.97


def _acceptance(answers: list[HonestAnswer] | tuple[HonestAnswer, ...]) -> float:
    return sum(answer.reason is None for answer in answers) / len(answers)


class TestHonestModel:
    def test_honest_answers_are_accepted(self) -> None:
        """At least 97% of honest answers pass the guard; the message lists every rejection."""
        answers = honest_results()
        assert _acceptance(answers) >= _TARGET, render_honest_summary(answers)

    def test_every_source_is_measured(self) -> None:
        """The sample, the corrections and the post-processors' examples all contribute answers."""
        sources = {answer.source for answer in honest_results()}
        assert sources == {"sample", "corrections", "examples"}
        assert sum(answer.source == "sample" for answer in honest_results()) > 4000

    def test_examples_cover_every_field_kind(self) -> None:
        """The post-processors' examples give honest answers for every kind of field."""
        kinds = {COLOMBIAN_LEADS[name].kind for name, _, _ in postprocessor_examples()}
        assert kinds == {"name", "address", "place", "category", "free_text"}

    def test_corrections_name_fields_of_the_profile(self) -> None:
        """Every hand-written correction is for a field of the profile, with both texts set."""
        for name, raw, answer in HONEST_CORRECTIONS:
            assert name in COLOMBIAN_LEADS
            assert raw.strip()
            assert answer.strip()

    def test_a_rejection_carries_its_reason(self) -> None:
        """A rejected honest answer is listed with its field, raw value, answer and reason."""
        rejected = check_honest("corrections", "empresa", "Rappi", "Bancolombia")
        assert rejected.reason is not None
        summary = render_honest_summary([rejected])
        assert "empresa: 'Rappi' -> 'Bancolombia'" in summary
