"""The policy pipeline: every rule with its default, boundaries, the order of checks, and hostile text."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.comments.models import Ban, Comment, CommentStatus, snowflake_time
from bot.comments.policy import (
    REFUSALS,
    AuthorFacts,
    Decision,
    ReasonCode,
    Submission,
    evaluate,
    evaluate_edit,
)
from bot.comments.settings import CommentSettings
from bot.comments.text import MAX_INPUT_CHARS, duplicate_key

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
OLD_ACCOUNT = NOW - dt.timedelta(days=400)
S = dt.timedelta(seconds=1)


def facts(**changes: object) -> AuthorFacts:
    values: dict[str, object] = {"account_created_at": OLD_ACCOUNT}
    values.update(changes)
    return AuthorFacts(**values)  # type: ignore[arg-type]


def decide(text: str, settings: CommentSettings | None = None, **fact_changes: object) -> Decision:
    return evaluate(Submission(1, 2, 3, text), facts(**fact_changes), settings or CommentSettings(), NOW)


def test_a_plain_comment_is_approved_and_normalised() -> None:
    d = decide("  Thanks for\u200b the article!  ")
    assert d.status is CommentStatus.APPROVED and not d.refused and d.appears_published
    assert d.text == "Thanks for the article!"
    assert d.key == duplicate_key("Thanks for the article!")
    assert d.reasons == ()
    assert d.member_message == "Your comment is published."


# --- form ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\u200b\u200d\ufeff", "\u202e\u202c\u2066", "\x00\x1b\x7f", "\n\n\t"])
def test_empty_after_normalisation_is_refused(text: str) -> None:
    d = decide(text)
    assert d.refused and d.codes == (ReasonCode.EMPTY,)
    assert d.member_message == "Your comment was not accepted: it has no text."


def test_length_boundary_is_the_limit_exactly() -> None:
    assert decide("a" * 4000).status is CommentStatus.APPROVED
    d = decide("a" * 4001)
    assert d.refused and d.codes == (ReasonCode.TOO_LONG,)
    assert "4001 characters long and the limit is 4000" in d.member_message


def test_length_counts_the_normalised_text() -> None:
    padded = "\u200b".join("a" * 4000)  # 7999 raw characters, 4000 once the zero-width ones are gone
    assert decide(padded).status is CommentStatus.APPROVED


def test_a_server_limit_below_the_modal_limit() -> None:
    settings = CommentSettings(max_length=100)
    assert decide("a" * 100, settings).status is CommentStatus.APPROVED
    assert decide("a" * 101, settings).codes == (ReasonCode.TOO_LONG,)


def test_huge_raw_input_is_refused_without_being_processed() -> None:
    d = decide("x" * (MAX_INPUT_CHARS + 1))
    assert d.refused and d.codes == (ReasonCode.TOO_LONG,) and d.text == ""
    assert decide("\u200b" * MAX_INPUT_CHARS).codes == (ReasonCode.EMPTY,)


def test_hostile_text_is_kept_for_the_renderer_and_judged_like_any_other() -> None:
    hostile = "@everyone @here <@123> <@&456> [totally safe](https://evil.example) \u202eevil\u202c **x**"
    d = decide(hostile)
    assert d.status is CommentStatus.APPROVED  # one link, no words held: nothing to hold it for
    assert d.text == "@everyone @here <@123> <@&456> [totally safe](https://evil.example) evil **x**"


# --- flood ---------------------------------------------------------------------------------------------------


def test_flood_default_is_15_seconds_and_exactly_15_is_allowed() -> None:
    assert decide("hi", last_comment_at=NOW - 15 * S).status is CommentStatus.APPROVED
    d = decide("hi", last_comment_at=NOW - dt.timedelta(seconds=14, milliseconds=999))
    assert d.refused and d.codes == (ReasonCode.FLOOD,)
    assert d.retry_after == dt.timedelta(milliseconds=1)
    assert "try again in 1 second" in d.member_message


def test_flood_says_how_long_to_wait() -> None:
    d = decide("hi", last_comment_at=NOW - 6 * S)
    assert d.retry_after == 9 * S
    assert d.member_message == "Your comment was not accepted: you are commenting too fast; try again in 9 seconds."
    assert "6s earlier (interval 15s)" in d.moderator_message


def test_flood_with_a_clock_ahead_of_ours_is_still_flood() -> None:
    d = decide("hi", last_comment_at=NOW + 5 * S)
    assert d.codes == (ReasonCode.FLOOD,) and d.retry_after == 15 * S


def test_flood_check_can_be_turned_off_and_spares_moderators() -> None:
    off = CommentSettings(flood_interval=dt.timedelta(0))
    assert decide("hi", off, last_comment_at=NOW).status is CommentStatus.APPROVED
    assert decide("hi", last_comment_at=NOW, is_moderator=True).status is CommentStatus.APPROVED


def test_a_longer_flood_interval() -> None:
    settings = CommentSettings(flood_interval=dt.timedelta(minutes=1))
    assert decide("hi", settings, last_comment_at=NOW - 59 * S).codes == (ReasonCode.FLOOD,)
    assert decide("hi", settings, last_comment_at=NOW - 60 * S).status is CommentStatus.APPROVED


# --- duplicates ----------------------------------------------------------------------------------------------


def test_duplicates_are_refused_by_default_and_can_be_allowed() -> None:
    d = decide("same again", duplicate_exists=True)
    assert d.refused and d.codes == (ReasonCode.DUPLICATE,)
    assert "already posted this comment on this article" in d.member_message
    allowed = CommentSettings(refuse_duplicates=False)
    assert decide("same again", allowed, duplicate_exists=True).status is CommentStatus.APPROVED


def test_moderators_are_refused_duplicates_too() -> None:
    assert decide("same", duplicate_exists=True, is_moderator=True).codes == (ReasonCode.DUPLICATE,)


# --- links ---------------------------------------------------------------------------------------------------


def test_two_links_pass_and_three_are_held() -> None:
    two = "see https://a.example/1 and https://b.example/2"
    assert decide(two).status is CommentStatus.APPROVED
    d = decide(two + " and https://c.example/3")
    assert d.status is CommentStatus.PENDING and d.codes == (ReasonCode.TOO_MANY_LINKS,)
    assert d.member_message == "Your comment is held for review because it contains several links."
    assert "3 distinct links (limit 2)" in d.moderator_message


def test_the_same_link_repeated_counts_once() -> None:
    text = "https://a.example/x " * 5 + "[https://b.example](https://b.example)"
    assert decide(text).status is CommentStatus.APPROVED


def test_max_links_zero_holds_any_link_and_off_holds_none() -> None:
    d = decide("one https://a.example/x", CommentSettings(max_links=0))
    assert d.status is CommentStatus.PENDING
    assert d.member_message.endswith("because it contains a link.")
    many = " ".join(f"https://{i}.example/" for i in range(20))
    assert decide(many, CommentSettings(max_links=None)).status is CommentStatus.APPROVED


# --- words ---------------------------------------------------------------------------------------------------

WORDS = CommentSettings(hold_words=("casino", "cheap pills"), block_words=("scam", "free money"))


def test_hold_words_hold() -> None:
    d = decide("Try this C-A-S-I-N-O", WORDS)
    assert d.status is CommentStatus.PENDING and d.codes == (ReasonCode.HOLD_WORD,)
    assert d.member_message == "Your comment is held for review because it contains words this server reviews first."
    assert 'held word "casino"' in d.moderator_message


def test_block_words_mark_spam() -> None:
    d = decide("FREE   money!!", WORDS)
    assert d.status is CommentStatus.SPAM and d.codes == (ReasonCode.BLOCK_WORD,)
    assert d.member_message.endswith("because it contains words this server does not allow.")
    assert d.moderator_message == 'Marked as spam: contains blocked word "free money".'


def test_block_words_beat_hold_words_and_moderators_see_both() -> None:
    d = decide("casino scam", WORDS)
    assert d.status is CommentStatus.SPAM
    assert d.codes == (ReasonCode.BLOCK_WORD, ReasonCode.HOLD_WORD)
    assert "does not allow" in d.member_message and "reviews first" not in d.member_message
    assert 'blocked word "scam"' in d.moderator_message and 'held word "casino"' in d.moderator_message


def test_block_words_beat_links() -> None:
    text = "scam https://a.example/ https://b.example/ https://c.example/"
    d = decide(text, WORDS)
    assert d.status is CommentStatus.SPAM and set(d.codes) == {ReasonCode.BLOCK_WORD, ReasonCode.TOO_MANY_LINKS}


def test_words_are_whole_words() -> None:
    assert decide("a scamp in the casinos", WORDS).status is CommentStatus.APPROVED


# --- account age ---------------------------------------------------------------------------------------------


def test_account_age_is_off_by_default() -> None:
    assert decide("hi", account_created_at=NOW - S).status is CommentStatus.APPROVED


def test_young_accounts_are_held_below_the_minimum() -> None:
    week = CommentSettings(min_account_age=dt.timedelta(days=7))
    d = decide("hi", week, account_created_at=NOW - dt.timedelta(days=6, hours=23))
    assert d.status is CommentStatus.PENDING and d.codes == (ReasonCode.NEW_ACCOUNT,)
    assert "your Discord account is new" in d.member_message
    assert "account 6d 23h old (minimum 7d)" in d.moderator_message
    assert decide("hi", week, account_created_at=NOW - dt.timedelta(days=7)).status is CommentStatus.APPROVED


def test_account_age_comes_from_the_snowflake() -> None:
    # Discord's documented example: 175928847299117063 was created at 2016-04-30 11:18:25.796 UTC.
    assert snowflake_time(175928847299117063) == dt.datetime(2016, 4, 30, 11, 18, 25, 796000, tzinfo=dt.UTC)
    assert snowflake_time(0) == dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(ValueError):
        snowflake_time(-1)


# --- pre-moderation ------------------------------------------------------------------------------------------


def test_premoderation_is_off_by_default() -> None:
    assert decide("hi").status is CommentStatus.APPROVED


def test_premoderation_holds_new_authors_and_trusts_approved_ones() -> None:
    on = CommentSettings(premoderation=True)
    d = decide("hi", on)
    assert d.status is CommentStatus.PENDING and d.codes == (ReasonCode.PREMODERATION,)
    assert "reviews comments before publishing them" in d.member_message
    assert decide("hi", on, has_approved_comment=True).status is CommentStatus.APPROVED


def test_premoderation_without_trust_holds_everyone() -> None:
    strict = CommentSettings(premoderation=True, trust_approved_authors=False)
    assert decide("hi", strict, has_approved_comment=True).codes == (ReasonCode.PREMODERATION,)


def test_trusted_authors_still_go_through_words_and_links() -> None:
    on = CommentSettings(premoderation=True, hold_words=("casino",))
    d = decide("casino", on, has_approved_comment=True)
    assert d.status is CommentStatus.PENDING and d.codes == (ReasonCode.HOLD_WORD,)


def test_several_reasons_are_all_given() -> None:
    settings = CommentSettings(premoderation=True, hold_words=("casino",), min_account_age=dt.timedelta(days=1))
    text = "casino https://a.example/ https://b.example/ https://c.example/"
    d = decide(text, settings, account_created_at=NOW - dt.timedelta(hours=1))
    assert d.codes == (
        ReasonCode.HOLD_WORD,
        ReasonCode.TOO_MANY_LINKS,
        ReasonCode.NEW_ACCOUNT,
        ReasonCode.PREMODERATION,
    )
    assert d.member_message == (
        "Your comment is held for review because it contains words this server reviews first, it contains several "
        "links, your Discord account is new and this server reviews comments before publishing them."
    )


# --- moderators ----------------------------------------------------------------------------------------------


def test_moderators_are_approved_directly() -> None:
    settings = CommentSettings(premoderation=True, hold_words=("casino",), min_account_age=dt.timedelta(days=365))
    text = "casino " + " ".join(f"https://{i}.example/" for i in range(5))
    d = decide(text, settings, is_moderator=True, account_created_at=NOW - S)
    assert d.status is CommentStatus.APPROVED and d.reasons == ()


# --- bans ----------------------------------------------------------------------------------------------------


def test_a_permanent_ban_refuses() -> None:
    d = decide("hi", ban=Ban(3))
    assert d.refused and d.codes == (ReasonCode.BANNED,)
    assert d.member_message == "Your comment was not accepted: you are banned from commenting on this server."


def test_a_timed_ban_refuses_until_it_ends() -> None:
    ban = Ban(3, until=NOW + dt.timedelta(hours=2))
    d = decide("hi", ban=ban)
    assert d.codes == (ReasonCode.BANNED,) and "until 2025-03-01 14:00 UTC" in d.member_message
    ended = Ban(3, until=NOW)
    assert decide("hi", ban=ended).status is CommentStatus.APPROVED
    assert decide("hi", ban=Ban(3, until=NOW + S)).refused


def test_a_shadow_ban_stores_spam_and_tells_the_author_it_is_published() -> None:
    d = decide("hello everyone", ban=Ban(3, shadow=True))
    assert d.status is CommentStatus.SPAM and d.shadowed and not d.refused
    assert d.appears_published
    assert d.member_message == "Your comment is published."
    assert d.codes == (ReasonCode.SHADOW_BAN,) and "shadow-banned permanently" in d.moderator_message
    assert d.text == "hello everyone"


def test_an_expired_shadow_ban_is_ignored() -> None:
    d = decide("hi", ban=Ban(3, shadow=True, until=NOW - S))
    assert d.status is CommentStatus.APPROVED and not d.shadowed


# --- order of checks -----------------------------------------------------------------------------------------


def test_a_ban_comes_before_everything() -> None:
    d = decide("", ban=Ban(3), last_comment_at=NOW, duplicate_exists=True)
    assert d.codes == (ReasonCode.BANNED,)


def test_form_comes_before_flood_and_duplicates() -> None:
    assert decide("\u200b", last_comment_at=NOW, duplicate_exists=True).codes == (ReasonCode.EMPTY,)
    assert decide("a" * 4001, last_comment_at=NOW).codes == (ReasonCode.TOO_LONG,)


def test_flood_comes_before_duplicates() -> None:
    assert decide("hi", last_comment_at=NOW, duplicate_exists=True).codes == (ReasonCode.FLOOD,)


def test_shadow_banned_authors_are_refused_like_anyone_so_they_cannot_tell() -> None:
    shadow = Ban(3, shadow=True)
    assert decide("hi", ban=shadow, last_comment_at=NOW).codes == (ReasonCode.FLOOD,)
    assert decide("hi", ban=shadow, duplicate_exists=True).codes == (ReasonCode.DUPLICATE,)
    assert decide("", ban=shadow).codes == (ReasonCode.EMPTY,)


def test_a_shadow_ban_comes_before_content_checks() -> None:
    d = decide("casino scam", WORDS, ban=Ban(3, shadow=True))
    assert d.status is CommentStatus.SPAM and d.codes == (ReasonCode.SHADOW_BAN,) and d.appears_published


def test_refusal_codes_are_exactly_the_refusing_ones() -> None:
    assert {ReasonCode.BANNED, ReasonCode.EMPTY, ReasonCode.TOO_LONG, ReasonCode.FLOOD, ReasonCode.DUPLICATE} == (
        REFUSALS
    )
    assert decide("hi", last_comment_at=NOW).codes[0] in REFUSALS


def test_naive_times_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(Submission(1, 2, 3, "hi"), facts(), CommentSettings(), NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="timezone-aware"):
        decide("hi", account_created_at=OLD_ACCOUNT.replace(tzinfo=None))


# --- edits ---------------------------------------------------------------------------------------------------


def test_an_edit_goes_through_policy_but_not_the_flood_check() -> None:
    comment = Comment(7, 1, 2, 3, "old", CommentStatus.APPROVED, created_at=NOW - 60 * S)
    d = evaluate_edit(comment, "new text", facts(last_comment_at=NOW - S), CommentSettings(), NOW)
    assert d.status is CommentStatus.APPROVED and d.text == "new text"
    d = evaluate_edit(comment, "now with casino", facts(), WORDS, NOW)
    assert d.status is CommentStatus.PENDING
    assert evaluate_edit(comment, "", facts(), CommentSettings(), NOW).codes == (ReasonCode.EMPTY,)
    assert evaluate_edit(comment, "x", facts(ban=Ban(3)), CommentSettings(), NOW).codes == (ReasonCode.BANNED,)


def test_an_edit_is_never_a_duplicate_of_the_comment_itself() -> None:
    comment = Comment(7, 1, 2, 3, "Hello there", CommentStatus.APPROVED, created_at=NOW - 60 * S)
    d = evaluate_edit(comment, "hello THERE", facts(duplicate_exists=True), CommentSettings(), NOW)
    assert d.status is CommentStatus.APPROVED
    d = evaluate_edit(comment, "something else", facts(duplicate_exists=True), CommentSettings(), NOW)
    assert d.codes == (ReasonCode.DUPLICATE,)
