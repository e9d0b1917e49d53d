"""Actors and speakers (`streams.classify.actors`): who a story names, and who speaks in its lead; talks and
threats that the classifier reads beyond its model (`streams.classify.cues`)."""

from __future__ import annotations

import pytest

from streams.classify import classify


@pytest.mark.parametrize(("text", "expected"), [
    ("Putin warns the West of consequences", ["Putin"]),                        # subject of a threat verb
    ("Russian President Vladimir Putin threatened to strike Kyiv", ["Putin"]),  # titles and first name between
    ("Lukashenko said, turning to the West, that war would follow", ["Lukashenko"]),
    ("\"We will respond\", said Putin", ["Putin"]),                             # a verb of saying first
    ("Про це заявив Путін під час зустрічі", ["Putin"]),                        # the same in Ukrainian
    ("Путин пригрозил Западу ответом", ["Putin"]),
    ("Scholz: we have heard that some units withdrew", ["Scholz"]),              # opens a quote
    ("Troops will leave Belarus when both decide - Lukashenko https://t.co/x", ["Lukashenko"]),  # attribution
    ("Biden warns Putin: you will pay a heavy cost", ["Biden"]),                 # Putin is the object
    ("Putin's spokesman Peskov said the Kremlin did not watch", ["Peskov"]),    # a possessive: the aide speaks
    ("US voters who admire Mr Putin praised his boldness", []),                  # named, not speaking
    ("Tensions escalate - Putin Spokesman Peskov", []),                          # the dash is not the end
    ("The summit ended. Diplomats met again. Later that day Putin warned the West", []),  # past the lead
])
def test_the_speaker_is_who_the_lead_has_speaking(text: str, expected: list[str]) -> None:
    assert classify(text).facts.speakers == expected


def test_actors_are_named_once_in_order_in_any_language() -> None:
    text = "Зеленський і Трамп поговорили; Trump later called Putin, and Zelenskyy thanked him"
    assert classify(text).facts.actors == ["Zelensky", "Trump", "Putin"]


def test_a_salvo_story_that_reports_talks_also_carries_talks_and_its_sub_type() -> None:
    result = classify("Russia launches nearly 400 long-range drones and 29 missiles across 12 Ukrainian regions as"
                      " talks open in Geneva")  # the demo's seed story
    assert result.category == "attack" and "talks" in result.also and "meeting" in result.subtypes


def test_a_talks_story_without_a_sub_type_cue_gets_the_one_it_implies() -> None:
    assert classify("Talks between Macron and Putin fail to produce a breakthrough").subtypes == ["meeting"]
    # a humanitarian corridor is a local ceasefire; sub-types keep the text's order
    assert classify("Humanitarian corridor opened as talks continue").subtypes == ["ceasefire_or_exchange", "meeting"]


def test_a_statement_takes_its_sub_types_from_its_lead() -> None:
    """An article whose lead reports a comment is not a threat because its ninth paragraph quotes one."""
    text = ("Belarus said on Monday it would host talks on trade. " + "The meeting was long. " * 5
            + "An analyst warned of a nuclear threat.")
    result = classify(text)
    assert "threat_warning" not in result.subtypes
