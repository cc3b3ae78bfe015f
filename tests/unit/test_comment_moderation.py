"""Moderation transitions, flags, edits, deletes, bulk actions, bans, and who sees what (shadow bans included)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from bot.comments.bans import ban_member, describe_ban, unban_member
from bot.comments.errors import DurationError, NotPermitted, TransitionError
from bot.comments.models import Actor, Ban, Comment, CommentStatus
from bot.comments.moderation import (
    MAX_REASON_CHARS,
    Action,
    Publication,
    Transition,
    apply,
    apply_bulk,
    state_label,
)
from bot.comments.policy import AuthorFacts, Submission, evaluate, evaluate_edit
from bot.comments.settings import CommentSettings
from bot.comments.visibility import can_see, in_queue, is_public, listed, view

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
AUTHOR = Actor(3)
MOD = Actor(100, moderator=True)
READERS = [Actor(200 + i) for i in range(10)]
SETTINGS = CommentSettings()
P, A, SP, T = CommentStatus.PENDING, CommentStatus.APPROVED, CommentStatus.SPAM, CommentStatus.TRASH


def make(status: CommentStatus = A, **changes: object) -> Comment:
    values: dict[str, object] = {
        "id": 7,
        "guild_id": 1,
        "article_id": 2,
        "author_id": AUTHOR.id,
        "text": "original text",
        "status": status,
        "created_at": NOW - dt.timedelta(minutes=5),
    }
    values.update(changes)
    return Comment(**values)  # type: ignore[arg-type]


def act(
    action: Action,
    comment: Comment,
    actor: Actor = MOD,
    *,
    settings: CommentSettings = SETTINGS,
    reason: str | None = None,
) -> Transition:
    return apply(action, comment, actor=actor, now=NOW, settings=settings, reason=reason)


# --- status transitions --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "before", "previous", "after", "after_previous"),
    [
        (Action.APPROVE, P, None, A, None),
        (Action.APPROVE, SP, P, A, None),
        (Action.SPAM, P, None, SP, P),
        (Action.SPAM, A, None, SP, A),
        (Action.TRASH, P, None, T, P),
        (Action.TRASH, A, None, T, A),
        (Action.TRASH, SP, A, T, SP),
        (Action.RESTORE, T, A, A, None),
        (Action.RESTORE, T, P, P, None),
        (Action.RESTORE, T, SP, SP, None),
        (Action.RESTORE, SP, A, A, None),
        (Action.RESTORE, SP, P, P, None),
        (Action.RESTORE, SP, None, P, None),
        (Action.RESTORE, T, None, P, None),
    ],
)
def test_moderator_transitions(
    action: Action,
    before: CommentStatus,
    previous: CommentStatus | None,
    after: CommentStatus,
    after_previous: CommentStatus | None,
) -> None:
    comment = make(before, previous_status=previous, version=4)
    t = act(action, comment, reason="  spam   wave ")
    assert t.after is not None
    assert (t.after.status, t.after.previous_status) == (after, after_previous)
    assert t.after.version == 5 and t.before is comment
    assert t.audit.action == action.value and t.audit.actor_id == MOD.id and t.audit.at == NOW
    assert t.audit.comment_id == 7 and t.audit.member_id == AUTHOR.id and t.audit.guild_id == 1
    assert t.audit.before == state_label(comment) and t.audit.after == state_label(t.after)
    assert t.audit.reason == "spam wave" and t.audit.by_moderator


@pytest.mark.parametrize(
    ("action", "before", "message"),
    [
        (Action.APPROVE, A, "already approved"),
        (Action.APPROVE, T, "in the trash; restore it first"),
        (Action.SPAM, SP, "already marked as spam"),
        (Action.SPAM, T, "in the trash; restore it first"),
        (Action.TRASH, T, "already in the trash"),
        (Action.RESTORE, P, "nothing to restore"),
        (Action.RESTORE, A, "nothing to restore"),
    ],
)
def test_impossible_transitions_are_refused(action: Action, before: CommentStatus, message: str) -> None:
    with pytest.raises(TransitionError, match=message):
        act(action, make(before))


@pytest.mark.parametrize("action", [Action.APPROVE, Action.SPAM, Action.TRASH, Action.RESTORE])
def test_only_moderators_moderate(action: Action) -> None:
    with pytest.raises(NotPermitted, match="Only moderators"):
        act(action, make(SP, previous_status=P), actor=READERS[0])
    with pytest.raises(NotPermitted):
        act(action, make(SP, previous_status=P), actor=AUTHOR)


def test_trash_and_spam_remember_and_restore_brings_back() -> None:
    comment = make(A)
    trashed = act(Action.TRASH, comment).after
    assert trashed is not None and state_label(trashed) == "trash (was approved)"
    restored = act(Action.RESTORE, trashed).after
    assert restored is not None and restored.status is A and restored.previous_status is None
    # spam → trash → restore gives spam back; restoring again gives what spam had forgotten: pending
    spammed = act(Action.SPAM, comment).after
    assert spammed is not None
    trashed = act(Action.TRASH, spammed).after
    assert trashed is not None and trashed.previous_status is SP
    back = act(Action.RESTORE, trashed).after
    assert back is not None and back.status is SP
    again = act(Action.RESTORE, back).after
    assert again is not None and again.status is P


def test_versions_let_the_store_pick_one_winner() -> None:
    comment = make(P, version=3)
    first = act(Action.APPROVE, comment)
    second = act(Action.TRASH, comment, actor=Actor(101, moderator=True))
    # Both were computed from version 3: the store's "WHERE version = 3" lets only one of them land.
    assert first.before.version == second.before.version == 3
    assert first.after is not None and second.after is not None
    assert first.after.version == second.after.version == 4
    with pytest.raises(TransitionError, match="already approved"):
        act(Action.APPROVE, first.after)


def test_reasons_are_cleaned_and_bounded() -> None:
    t = act(Action.TRASH, make(A), reason="x" * 2000 + "\u202e")
    assert t.audit.reason is not None and len(t.audit.reason) <= MAX_REASON_CHARS
    assert act(Action.TRASH, make(A), reason="  \u200b ").audit.reason is None
    assert act(Action.TRASH, make(A), reason="two\n\nlines").audit.reason == "two lines"


# --- publication and queue -----------------------------------------------------------------------------------


def test_publication_and_queue_follow_the_transition() -> None:
    approve = act(Action.APPROVE, make(P))
    assert approve.publication is Publication.PUBLISH and approve.left_queue and not approve.entered_queue
    trash = act(Action.TRASH, make(A))
    assert trash.publication is Publication.WITHDRAW and not trash.left_queue
    spam = act(Action.SPAM, make(P))
    assert spam.publication is None and spam.left_queue
    restore = act(Action.RESTORE, make(T, previous_status=P))
    assert restore.publication is None and restore.entered_queue
    delete = act(Action.DELETE, make(A), actor=AUTHOR)
    assert delete.after is None and delete.publication is Publication.WITHDRAW and delete.audit.after is None


# --- flags ---------------------------------------------------------------------------------------------------


def test_flags_from_distinct_members_hide_and_queue_at_the_threshold() -> None:
    comment = make(A)
    t1 = act(Action.FLAG, comment, actor=READERS[0], reason="rude")
    assert t1.after is not None and t1.after.flaggers == {READERS[0].id} and not t1.after.hidden
    assert t1.flag is not None and (t1.flag.member_id, t1.flag.reason, t1.flag.created_at) == (
        READERS[0].id,
        "rude",
        NOW,
    )
    assert t1.publication is None and not t1.entered_queue and not t1.audit.by_moderator
    t2 = act(Action.FLAG, t1.after, actor=READERS[1])
    assert t2.after is not None and not t2.after.hidden
    t3 = act(Action.FLAG, t2.after, actor=READERS[2])
    assert t3.after is not None and t3.after.hidden and t3.after.status is A
    assert t3.entered_queue and t3.publication is Publication.WITHDRAW
    assert not is_public(t3.after) and in_queue(t3.after)
    assert t3.audit.after == "approved, hidden by flags"


def test_repeated_flags_by_one_member_count_once() -> None:
    t = act(Action.FLAG, make(A), actor=READERS[0])
    assert t.after is not None
    with pytest.raises(TransitionError, match="already flagged"):
        act(Action.FLAG, t.after, actor=READERS[0])


def test_an_author_cannot_flag_their_own_comment() -> None:
    with pytest.raises(NotPermitted, match="own comment"):
        act(Action.FLAG, make(A), actor=AUTHOR)


def test_comments_a_member_cannot_see_cannot_be_flagged_and_do_not_reveal_themselves() -> None:
    for status in (P, SP, T):
        with pytest.raises(TransitionError, match="was not found"):
            act(Action.FLAG, make(status), actor=READERS[0])
    hidden = make(A, hidden=True, flaggers=frozenset(r.id for r in READERS[:3]))
    with pytest.raises(TransitionError, match="was not found"):
        act(Action.FLAG, hidden, actor=READERS[5])
    with pytest.raises(TransitionError, match="only published comments"):
        act(Action.FLAG, make(P), actor=MOD)


def test_a_moderator_approving_a_flagged_comment_clears_the_hide_and_the_flags() -> None:
    hidden = make(A, hidden=True, flaggers=frozenset(r.id for r in READERS[:3]))
    t = act(Action.APPROVE, hidden)
    assert t.after is not None and not t.after.hidden and t.after.flaggers == frozenset()
    assert t.clear_flags and t.publication is Publication.PUBLISH and t.left_queue
    # below the threshold, approving dismisses the flags
    flagged = make(A, flaggers=frozenset({READERS[0].id}))
    t = act(Action.APPROVE, flagged)
    assert t.after is not None and t.clear_flags and t.after.flaggers == frozenset() and t.publication is None
    # afterwards it takes three new flags again
    after = t.after
    for reader in READERS[:2]:
        step = act(Action.FLAG, after, actor=reader).after
        assert step is not None
        after = step
    assert not after.hidden


def test_a_restored_flagged_comment_is_still_hidden_until_approved() -> None:
    hidden = make(A, hidden=True, flaggers=frozenset(r.id for r in READERS[:3]))
    trashed = act(Action.TRASH, hidden).after
    assert trashed is not None
    restored = act(Action.RESTORE, trashed).after
    assert restored is not None and restored.hidden and in_queue(restored)


def test_a_threshold_of_zero_never_hides() -> None:
    settings = CommentSettings(flag_threshold=0)
    comment = make(A)
    for reader in READERS:
        step = act(Action.FLAG, comment, actor=reader, settings=settings).after
        assert step is not None
        comment = step
    assert len(comment.flaggers) == 10 and not comment.hidden


def test_a_custom_threshold() -> None:
    settings = CommentSettings(flag_threshold=1)
    t = act(Action.FLAG, make(A), actor=READERS[0], settings=settings)
    assert t.after is not None and t.after.hidden


# --- edits ---------------------------------------------------------------------------------------------------


def _facts(**kw: object) -> AuthorFacts:
    return AuthorFacts(account_created_at=NOW - dt.timedelta(days=100), **kw)  # type: ignore[arg-type]


def edit(
    comment: Comment,
    text: str,
    settings: CommentSettings = SETTINGS,
    *,
    actor: Actor = AUTHOR,
    ban: Ban | None = None,
    last_comment_at: dt.datetime | None = None,
) -> Transition:
    facts = _facts(ban=ban, last_comment_at=last_comment_at)
    decision = evaluate_edit(comment, text, facts, settings, NOW)
    return apply(Action.EDIT, comment, actor=actor, now=NOW, settings=settings, decision=decision)


def test_an_edit_stores_the_new_text_and_keeps_the_old_in_history() -> None:
    comment = make(A, version=2)
    t = edit(comment, "  better   text ")
    assert t.after is not None and t.after.text == "better text" and t.after.status is A
    assert t.after.updated_at == NOW and t.after.version == 3
    assert t.edit is not None
    assert (t.edit.comment_id, t.edit.previous_text, t.edit.previous_status, t.edit.edited_at, t.edit.editor_id) == (
        7,
        "original text",
        A,
        NOW,
        AUTHOR.id,
    )
    assert t.publication is Publication.UPDATE and t.audit.action == "edit" and not t.audit.by_moderator


def test_an_edit_goes_back_through_policy() -> None:
    settings = CommentSettings(hold_words=("casino",), block_words=("scam",))
    held = edit(make(A), "now about a casino", settings)
    assert held.after is not None and held.after.status is P
    assert held.publication is Publication.WITHDRAW and held.entered_queue
    spam = edit(make(A), "a scam", settings)
    assert spam.after is not None and spam.after.status is SP and spam.after.previous_status is None
    fixed = edit(make(P), "clean now", settings)
    assert fixed.after is not None and fixed.after.status is A and fixed.publication is Publication.PUBLISH


def test_the_edit_window_is_inclusive_and_configurable() -> None:
    comment = make(A, created_at=NOW - dt.timedelta(minutes=15))
    assert edit(comment, "just in time").after is not None
    late = make(A, created_at=NOW - dt.timedelta(minutes=15, seconds=1))
    with pytest.raises(TransitionError, match="can be edited for 15m after posting"):
        edit(late, "too late")
    longer = CommentSettings(edit_window=dt.timedelta(hours=1))
    assert edit(late, "fine with an hour", longer).after is not None
    with pytest.raises(TransitionError, match="turned off"):
        edit(make(A), "no", CommentSettings(edit_window=dt.timedelta(0)))


@pytest.mark.parametrize(
    ("comment", "actor", "error", "message"),
    [
        (make(A), READERS[0], NotPermitted, "Only the author"),
        (make(A), MOD, NotPermitted, "Only the author"),
        (make(SP, previous_status=A), AUTHOR, TransitionError, "removed by a moderator"),
        (make(T, previous_status=A), AUTHOR, TransitionError, "removed by a moderator"),
        (make(A, hidden=True), AUTHOR, TransitionError, "hidden while moderators review"),
    ],
)
def test_edits_that_are_not_allowed(comment: Comment, actor: Actor, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        edit(comment, "new", actor=actor)


def test_edits_refused_by_policy_or_unchanged() -> None:
    with pytest.raises(TransitionError, match="Your edit was not accepted: it has no text"):
        edit(make(A), "\u200b")
    with pytest.raises(TransitionError, match="banned"):
        edit(make(A), "new", ban=Ban(AUTHOR.id))
    with pytest.raises(TransitionError, match="same as the current"):
        edit(make(A), " original   text ")
    with pytest.raises(ValueError, match="decision"):
        apply(Action.EDIT, make(A), actor=AUTHOR, now=NOW, settings=SETTINGS)


def test_an_edit_is_not_flood() -> None:
    assert edit(make(A), "new", last_comment_at=NOW).after is not None


def test_a_shadowed_comment_can_be_edited_and_stays_removed() -> None:
    shadowed = make(SP, shadowed=True)
    t = edit(shadowed, "edited by a shadow-banned author", ban=Ban(AUTHOR.id, shadow=True))
    assert t.after is not None and t.after.status is SP and t.after.shadowed
    assert t.after.text == "edited by a shadow-banned author" and t.publication is None
    assert view(t.after, AUTHOR) is not None and view(t.after, AUTHOR).status is A  # type: ignore[union-attr]
    # even once the ban is lifted, the moderators' verdict stands until they restore it
    t = edit(shadowed, "edited after the ban ended")
    assert t.after is not None and t.after.status is SP


def test_an_author_shadow_banned_after_posting_loses_the_comment_on_edit_without_noticing() -> None:
    t = edit(make(A), "edited", ban=Ban(AUTHOR.id, shadow=True))
    assert t.after is not None and t.after.status is SP and t.after.shadowed
    assert t.publication is Publication.WITHDRAW
    assert view(t.after, AUTHOR).status is A  # type: ignore[union-attr]
    assert not can_see(t.after, READERS[0])


# --- deletes -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [P, A, SP, T])
def test_authors_delete_their_own_comments_in_any_status(status: CommentStatus) -> None:
    t = act(Action.DELETE, make(status), actor=AUTHOR)
    assert t.after is None and t.audit.after is None and t.audit.action == "delete" and not t.audit.by_moderator


def test_moderators_delete_for_good_only_from_spam_or_trash() -> None:
    for status in (SP, T):
        t = act(Action.DELETE, make(status))
        assert t.after is None and t.audit.by_moderator
    for status in (P, A):
        with pytest.raises(TransitionError, match="trash or spam before deleting"):
            act(Action.DELETE, make(status))


def test_other_members_cannot_delete() -> None:
    with pytest.raises(NotPermitted, match="only delete your own"):
        act(Action.DELETE, make(A), actor=READERS[0])
    with pytest.raises(TransitionError, match="not found"):
        act(Action.DELETE, make(P), actor=READERS[0])


# --- bulk ----------------------------------------------------------------------------------------------------


def test_bulk_applies_where_it_can_and_says_what_it_skipped() -> None:
    comments = [make(P, id=1), make(A, id=2), make(SP, id=3, previous_status=P), make(T, id=4, previous_status=A)]
    result = apply_bulk(Action.APPROVE, comments, actor=MOD, now=NOW, settings=SETTINGS, reason="cleanup")
    assert [t.before.id for t in result.transitions] == [1, 3]
    assert [cid for cid, _ in result.skipped] == [2, 4]
    assert "already approved" in result.skipped[0][1] and "restore it first" in result.skipped[1][1]
    assert all(t.audit.reason == "cleanup" for t in result.transitions)
    assert result.summary() == "2 comments approved; 2 skipped."
    trash = apply_bulk(Action.TRASH, comments, actor=MOD, now=NOW, settings=SETTINGS)
    assert trash.summary() == "3 comments moved to the trash; 1 skipped."
    delete = apply_bulk(Action.DELETE, comments, actor=MOD, now=NOW, settings=SETTINGS)
    assert [t.before.id for t in delete.transitions] == [3, 4]


def test_bulk_is_for_moderators_and_moderation_actions() -> None:
    with pytest.raises(NotPermitted):
        apply_bulk(Action.TRASH, [make(A)], actor=READERS[0], now=NOW, settings=SETTINGS)
    for action in (Action.EDIT, Action.FLAG):
        with pytest.raises(TransitionError, match="can't be done in bulk"):
            apply_bulk(action, [make(A)], actor=MOD, now=NOW, settings=SETTINGS)
    assert apply_bulk(Action.TRASH, [], actor=MOD, now=NOW, settings=SETTINGS).summary() == (
        "0 comments moved to the trash."
    )


# --- visibility ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "author_sees", "others_see"),
    [
        (make(A), A, A),
        (make(P), P, None),
        (make(SP), SP, None),
        (make(T, previous_status=A), T, None),
        (make(A, hidden=True), A, None),
    ],
)
def test_who_sees_what(comment: Comment, author_sees: CommentStatus, others_see: CommentStatus | None) -> None:
    author_view = view(comment, AUTHOR)
    assert author_view is not None and author_view.status is author_sees and author_view.hidden is comment.hidden
    other = view(comment, READERS[0])
    assert (other.status if other else None) is others_see
    moderator_view = view(comment, MOD)
    assert moderator_view is not None and moderator_view.status is comment.status
    assert moderator_view.hidden is comment.hidden


def test_a_shadow_ban_seen_from_both_sides() -> None:
    settings = CommentSettings()
    ban = Ban(AUTHOR.id, shadow=True)
    decision = evaluate(Submission(1, 2, AUTHOR.id, "my opinion"), _facts(ban=ban), settings, NOW)
    assert decision.appears_published and decision.member_message == "Your comment is published."
    assert decision.status is not None
    stored = make(decision.status, text=decision.text, shadowed=decision.shadowed)
    # the author: published, in the public list, no sign of anything
    mine = view(stored, AUTHOR)
    assert mine is not None and mine.status is A and not mine.hidden and not mine.shadowed
    assert listed(stored, AUTHOR)
    # everyone else: nothing at all
    for reader in READERS:
        assert view(stored, reader) is None and not listed(stored, reader)
    assert not is_public(stored) and not in_queue(stored)
    # moderators: the truth
    theirs = view(stored, MOD)
    assert theirs is not None and theirs.status is SP and theirs.shadowed
    # and nobody else can flag what they cannot see
    with pytest.raises(TransitionError, match="not found"):
        act(Action.FLAG, stored, actor=READERS[0])


def test_a_moderator_approving_a_shadowed_comment_publishes_it() -> None:
    stored = make(SP, shadowed=True)
    t = act(Action.APPROVE, stored)
    assert t.after is not None and is_public(t.after) and t.publication is Publication.PUBLISH
    assert can_see(t.after, READERS[0])


def test_public_listing_is_public_comments_plus_ones_own_shadowed() -> None:
    assert listed(make(A), READERS[0])
    assert not listed(make(P), AUTHOR)  # held comments are not shown as published, even to their author
    assert not listed(make(A, hidden=True), AUTHOR)


# --- bans ----------------------------------------------------------------------------------------------------


def test_ban_member_builds_the_ban_and_its_audit_entry() -> None:
    ban, audit = ban_member(AUTHOR.id, guild_id=1, moderator=MOD, now=NOW, duration="7d", reason="trolling")
    assert ban.until == NOW + dt.timedelta(days=7) and not ban.shadow and ban.kind == "timed"
    assert (ban.moderator_id, ban.created_at, ban.reason) == (MOD.id, NOW, "trolling")
    assert (audit.action, audit.member_id, audit.before, audit.reason) == ("ban", AUTHOR.id, "not banned", "trolling")
    assert audit.after == "banned until 2025-03-08 12:00 UTC"
    forever, audit = ban_member(AUTHOR.id, guild_id=1, moderator=MOD, now=NOW, duration="forever", current=ban)
    assert forever.until is None and forever.kind == "permanent"
    assert audit.before == "banned until 2025-03-08 12:00 UTC" and audit.after == "banned permanently"
    shadow, audit = ban_member(AUTHOR.id, guild_id=1, moderator=MOD, now=NOW, shadow=True)
    assert shadow.kind == "shadow" and audit.after == "shadow-banned permanently"


def test_bad_bans_are_refused_clearly() -> None:
    with pytest.raises(DurationError, match="not a unit"):
        ban_member(AUTHOR.id, guild_id=1, moderator=MOD, now=NOW, duration="7 fortnights")
    with pytest.raises(TransitionError, match="cannot ban yourself"):
        ban_member(MOD.id, guild_id=1, moderator=MOD, now=NOW)
    with pytest.raises(NotPermitted):
        ban_member(AUTHOR.id, guild_id=1, moderator=READERS[0], now=NOW)


def test_unban() -> None:
    ban = Ban(AUTHOR.id, until=NOW + dt.timedelta(hours=1))
    audit = unban_member(ban, member_id=AUTHOR.id, guild_id=1, moderator=MOD, now=NOW, reason="appeal")
    assert (audit.action, audit.after, audit.reason) == ("unban", "not banned", "appeal")
    assert audit.describe() == f"unban member {AUTHOR.id}: banned until 2025-03-01 13:00 UTC → not banned (appeal)"
    with pytest.raises(TransitionError, match="not banned"):
        unban_member(None, member_id=AUTHOR.id, guild_id=1, moderator=MOD, now=NOW)
    with pytest.raises(TransitionError, match="not banned"):
        unban_member(replace(ban, until=NOW), member_id=AUTHOR.id, guild_id=1, moderator=MOD, now=NOW)


def test_describe_ban() -> None:
    assert describe_ban(None, NOW) == "not banned"
    assert describe_ban(Ban(1, until=NOW - dt.timedelta(seconds=1)), NOW) == "not banned"
    assert describe_ban(Ban(1, until=NOW + dt.timedelta(days=1), shadow=True), NOW) == (
        "shadow-banned until 2025-03-02 12:00 UTC"
    )


def test_audit_entries_describe_themselves() -> None:
    t = act(Action.TRASH, make(A), reason="off topic")
    assert t.audit.describe() == "trash comment 7: approved → trash (was approved) (off topic)"
    d = act(Action.DELETE, make(T), actor=AUTHOR)
    assert d.audit.describe() == "delete comment 7: trash → deleted"
