"""Plain-text article parsing and whole-page text cleaning.

Pages saved as text keep their chrome: menus, breadcrumbs, share buttons, comment forms, donation appeals,
related-post lists and footers. The article itself is the longest dense run of sentence-like lines, so both
entry points score every line (prose earns its word count, menu-like and boilerplate lines cost) and keep
the best-scoring contiguous run, then strip what is boilerplate inside it. Known boilerplate is matched by
pattern *families* rather than exact strings, so other blogs' wording for the same widgets is caught too.

Pure domain code: no discord, no I/O, no SQL.
"""

from __future__ import annotations

import collections
import datetime as dt
import re
import unicodedata
from collections.abc import Container
from dataclasses import dataclass
from typing import Final

from bot.errors import ParseError
from bot.news.format import strip_control
from bot.news.models import ParsedArticle, Published

__all__ = ["clean_page_text", "parse_date", "parse_text"]

# Larger inputs are cut rather than refused: the article is near the top of any real page, and the line
# scan must stay linear and quick even on a hostile 50 MB file.
_MAX_CHARS = 2_000_000
_MAX_LINE = 20_000
_MAX_LINES = 20_000
_MAX_WIDGET = 320

_WORD = re.compile(r"\w+")
_ALPHA_WORD = re.compile(r"[^\W\d_]{2,}")
_SENTENCE_END = re.compile(r"""[.!?…:;。！？：；][)\]"'”’»」』）]*$|[)\]"'”’»」』）]$""")
# CJK text has no spaces, so its "words" are counted from characters (about two per word).
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_INNER_SENTENCE = re.compile(r"""[a-z0-9)"'”’][.!?]["'”’]?\s+["'“‘]?[A-Z]""")

# --------------------------------------------------------------------------------------------------------
# Boilerplate families.
#
# ``_WALL`` lines mark where an article ends and the page's furniture begins (share widgets, comment forms,
# related lists); they cost enough that the main run never stretches across them. ``_NOISE`` lines are
# interruptions that also appear *inside* articles (ads, "continue reading"), so they are dropped but only
# cost a little. Both are matched against the whole stripped line, case-insensitively.
# --------------------------------------------------------------------------------------------------------

_SOCIAL = (
    r"facebook|twitter|x|email|e-mail|mail|print|whatsapp|linkedin|pinterest|reddit|tumblr|telegram|pocket|"
    r"skype|flipboard|messenger|sms|copy link|copy|google\+?|google plus|rss|rss feed|youtube|instagram|"
    r"snapchat|tiktok|digg|stumbleupon|vk|weibo|line|viber|threads|mastodon|bluesky|share|tweet|pin|pin it|"
    r"more|comment|comments|reply"
)

_COMMENT_HEADER = (
    r"([A-Z][\w.'’\-]*( [A-Z(][\w.'’()\-]*){0,4}|[\w.\-@]{1,40})"
    r"( (on|at) [^\"“”]{4,60})? (said|says|wrote|commented|replied):"
)

_WALL_PATTERNS = [
    # Share widgets and their buttons.
    r"(share|spread) (this|the word|on|via)\b.{0,40}",
    r"share( this)?( article| story| post| page)?:?",
    rf"((share|post|click) (on|to share on|to share|to) )?({_SOCIAL})( \(opens in new window\))?",
    r"click to (share|print|email|tweet|pin)\b.{0,60}",
    r"\(opens in new window\)",
    # WordPress / Jetpack likes.
    r"like this:?",
    r"like loading\W*",
    r"loading\W*",
    r"(be the first|one blogger|\d+ bloggers?|%d bloggers?) likes? this\W*",
    r"%d bloggers like this:?",
    # Comments.
    r"(leave|post|add|write|submit) (a|your|the)? ?(reply|comment|response)s?\b.{0,40}",
    r"share your (thoughts|views|opinion|comments?)\b.{0,40}",
    r"(what do you think|join the (discussion|conversation)|have your say)\W*.{0,40}",
    r"(\d+|no|view|show|hide|load|read|all)( \d+)? (comments?|responses?|replies)\b.{0,20}",
    r"comments?( \(\d+\))?:?",
    r"(cancel reply|you must be logged in to post a comment\.?|your email address will not be published\.?.*)",
    r"(comments?|discussion) (are|is) (closed|disabled)\.?",
    r"(this entry|this post) was posted in .*",
    # A comment's header: "Jane on May 5, 2019 at 4:47 pm said:", "John says:", "Reply ↓".
    _COMMENT_HEADER,
    r"reply( ↓| →)?|(log ?in|sign ?in) to reply|report( comment| abuse)?|(up|down)vote",
    # Related / recommended content.
    r"(related|similar|recommended|popular|trending|latest|recent|more|top|most (read|popular|viewed|shared))"
    r"( \w+){0,2}( (posts?|articles?|stories|news|reads?|videos?|links?|content|headlines))?:?",
    r"(you (may|might) (also )?(like|enjoy|be interested in)|read (also|next|this next)|see also|also read|"
    r"don'?t miss|more from .{1,40}|more (stories|articles|news) (from|about|like this) .{0,40}|"
    r"what to read next|up next|around the web|from the web|sponsored (links|stories))\W*",
    # Post navigation and taxonomy.
    r"(post|article|story)? ?navigation",
    r"(«|‹|<|←)?\s*(previous|prev|next|older|newer) (post|article|story|entry|page)\b.*",
    r"(previous|next|older|newer)\s*(»|›|>|→)?",
    r"(posted|filed|published|listed) (in|under):? .{0,200}",
    r"(tags?|tagged|tagged with|topics?|categories|category|filed under|keywords)\s*[:\-–—]\s*.{0,300}",
    r"tagged .{0,200}",
    # Newsletter, membership and donation appeals.
    r"liked it\? take a second to support .{0,120}",
    # Cookie and privacy notices.
    # Copyright and footer lines.
    r"(copyright|©|\(c\)).{0,200}",
    r"back to top\W*",
    r"(return|go|scroll) to top\W*",
]

# Families recognised by a phrase anywhere in a short line: (pattern, longest line it applies to).
_WALL_PHRASES = [
    (r"\|\s*tagged\b", 320),
    (
        r"\b(subscribe|sign up|signup|register)\b.{0,30}\b(newsletter|mailing list|email updates|"
        r"our emails?|for free|today|now)\b",
        200,
    ),
    (r"\bnewsletter\b", 140),
    (r"\b(patreon|paypal|buy me a coffee|ko-fi|donate|donation|become a (member|supporter|patron))\b", 260),
    (r"\bsupport (us|our (work|journalism|reporting)|independent journalism)\b", 200),
    (
        r"\b(privacy policy|terms of (use|service)|terms and conditions|cookie policy|accessibility"
        r"|sitemap|site map|contact us|about us|advertise( with us)?|careers|work with us)\b",
        100,
    ),
    (r"\b(all rights reserved|powered by wordpress|proudly powered by|theme by|designed by)\b", 260),
    (r"\bmay not be (published|reproduced|redistributed|rewritten)\b", 260),
]

_NOISE_PATTERNS = [
    r"(advertisement|advertising|sponsored|sponsored content|ad|ads|promoted|partner content)\W*",
    r"(story|article) continues? below( (the )?(advertisement|ad))?\W*",
    r"continue reading( (the )?(main story|below|article|story))?\W*",
    r"(read|see|view|learn|find out) more\b.{0,60}",
    r"(click|tap) here\b.{0,120}",
    r"skip to( main| the)? (content|navigation|main|site index|search)\b.*",
    r"(jump|go) to (content|navigation|main content)\b.*",
    r"news ?ticker\W*",
    r"breaking( news)?\W*",
    r"(menu|main menu|navigation|search|search for:?|go|submit|close|open|toggle navigation|sections|"
    r"home|log ?in|log ?out|sign ?in|sign ?out|register|subscribe|subscriber|account|my account|"
    r"today'?s paper|edition|caption|expand|collapse|play|pause|mute|video|watch|listen|audio|"
    r"photo|photos|gallery|image|images|back to gallery|view gallery|enlarge|zoom|full screen|fullscreen)\W*",
    r"(image|photo|slide|picture) \d+( of)? ?/? ?\d+\W*",
    r"\d+ ?/ ?\d+",
    r"\d+ min(ute)?s? read\W*",
    r"(reading time|estimated reading time):? .{0,30}",
    r"(updated|posted|published)? ?\d+ (seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?) ago\W*",
    r"(supported by|presented by|in partnership with|brought to you by)\W*.{0,40}",
    r"(follow|like) us( on)?\b.{0,60}",
    r"(reporting|writing|editing|additional reporting|compiled|produced|edited|reported) by .{0,300}",
    r"our standards:.*",
    r"<[a-z!/][^>]*>.*",
    r"(\w+[ \t]*(»|›|>|/|\|)[ \t]*){1,}.{0,80}",
    r"home\s*(»|›|>|/|\||→).*",
]

# Comment sections start with one of these. Prose after one is readers talking, not the article, so it
# counts for much less and can never outweigh the article above it.
_COMMENTS_START = re.compile(
    r"^(?:(?:\d+|no|view|show|load|read|all)( \d+)? (?:comments?|responses?|replies)\b.{0,20}"
    r"|(?:top rated |top |latest |newest |oldest |best |all |reader |readers'? |user )?comments?( \(\d+\))?:?"
    r"|(?:leave|post|add|write|submit) (?:a|your|the)? ?(?:reply|comment|response)s?\b.{0,40}"
    r"|.{0,120}\|\s*\d+ comments?|discussion|\d+ (?:responses?|thoughts|comments?|replies) (?:to|on) .{1,200}|"
    + _COMMENT_HEADER
    + r"|(?:\d+ )?thoughts on .{1,200})$",
    re.IGNORECASE,
)
# A cookie notice names cookies and, before or after them, the site, the browser or consent. Searched as four
# single-word patterns (see _is_cookie_notice) rather than ``cookie.*word``, whose backtracking is quadratic on a
# long line that repeats "cookie".
_COOKIE_WORD = re.compile(r"\bcookies?\b", re.IGNORECASE)
_COOKIE_AFTER = re.compile(r"\b(?:website|site|browser|consent|opt[- ]out|experience|third[- ]party)\b", re.IGNORECASE)
_COOKIE_BEFORE = re.compile(r"\b(?:website|site|browser|consent)\b", re.IGNORECASE)
# Widgets often come wrapped: "[ 167 comments ]", "» Share", "| Tags: …".
_DECORATION = " \t[](){}<>|•·-–—*#=_~»«›‹→←↓"
_TEASER = re.compile(r"^(?:[A-Z0-9][\w'’:,\-]*\s+){6,}")
_WALL = re.compile(r"^(?:" + "|".join(f"(?:{p})" for p in _WALL_PATTERNS) + r")$", re.IGNORECASE)
_WALL_PHRASE = [(re.compile(p, re.IGNORECASE), n) for p, n in _WALL_PHRASES]
# Substrings without which no phrase family can match: a C-speed test that spares most lines the regexes.
_WALL_PHRASE_HINTS = (
    "tagged", "subscribe", "sign up", "signup", "register", "newsletter", "patreon", "paypal", "coffee", "ko-fi",
    "donat", "become a", "support", "privacy", "terms", "accessib", "site", "contact", "about us", "advertis",
    "career", "work with", "reserved", "powered by", "theme by", "designed by", "may not be",
)  # fmt: skip
_CAPTION_HINTS = (
    "/", "photo", "picture", "image", "pic", "credit", "courtesy", "source", "getty", "shutterstock", "istock",
    "alamy", "wikimedia",
)  # fmt: skip
_NOISE = re.compile(r"^(?:" + "|".join(f"(?:{p})" for p in _NOISE_PATTERNS) + r")$", re.IGNORECASE)

# A photo caption or credit: agency slash-credits (REUTERS/Name, AFP/Getty), "Photo: …", "(Photo by …)",
# "Credit…", or a trailing "Getty Images" / "AP Photo" attribution.
_CAPTION = re.compile(
    r"\b(REUTERS|AFP|EPA|AP|UPI|XINHUA|SIPA|POOL|EFE|ANSA|KCNA|TASS|BLOOMBERG|GETTY)(\s+PHOTO)?\s*/\s*\w"
    r"|(^|[\s(\[])(photo|photograph|picture|image|pic|file photo|credit|photo credit|courtesy|source)"
    r"(\s+(by|credit|courtesy))?\s*(:|\.\.\.|…|\s+by\b)"
    r"|\b(getty images|ap photo|shutterstock|istock(photo)?|alamy|wikimedia commons|afp via getty)\W*$"
    r"|\((photo|image|picture|credit)[^()]{0,200}\)\W*$",
    re.IGNORECASE,
)


@dataclass(slots=True)
class _Line:
    text: str
    words: int
    kind: str
    """``prose``, ``short``, ``wall``, ``noise`` or ``caption``."""
    score: float


# --------------------------------------------------------------------------------------------------------
# Line scoring, shared by both entry points.
# --------------------------------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    if len(text) > _MAX_CHARS:
        text = text[:_MAX_CHARS]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    return strip_control(text.replace("\t", " "))


def _clean_line(line: str) -> str:
    # str.split() splits on every Unicode space (the controls it also splits on are gone by now), and fast.
    return " ".join(line.split())[:_MAX_LINE]


def _count_words(line: str) -> int:
    words = len(_WORD.findall(line))
    cjk = len(_CJK.findall(line))
    if cjk:
        words += cjk // 2
    return words


def _title_case_ratio(line: str) -> float:
    words = _ALPHA_WORD.findall(line)
    if not words:
        return 0.0
    return sum(1 for w in words if w[0].isupper()) / len(words)


def _is_cookie_notice(key: str) -> bool:
    """Whether ``key`` mentions cookies together with the site, browser or consent, in either order.

    Only the first occurrence of each side needs checking, which keeps this linear in the line's length."""
    cookie = _COOKIE_WORD.search(key)
    if cookie is None:
        return False
    if _COOKIE_AFTER.search(key, cookie.end()):
        return True
    before = _COOKIE_BEFORE.search(key)
    return before is not None and _COOKIE_WORD.search(key, before.end()) is not None


def _classify(text: str, words: int) -> tuple[str, float]:
    key = text.strip(_DECORATION)
    # Widget lines are short; testing only those keeps the scan linear on pages of long paragraphs.
    short_key = len(key) <= _MAX_WIDGET
    low = key.lower()
    if (
        (short_key and _WALL.match(key))
        or (
            any(hint in low for hint in _WALL_PHRASE_HINTS)
            and any(len(key) <= limit and pattern.search(key) for pattern, limit in _WALL_PHRASE)
        )
        or ("ookie" in key and _is_cookie_notice(key))
    ):
        return "wall", -40.0
    if short_key and _NOISE.match(key):
        return "noise", -3.0
    if words >= 4 and any(hint in low for hint in _CAPTION_HINTS) and _CAPTION.search(text):
        return "caption", -1.0
    if words == 0:
        return "short", -2.0
    ends = bool(_SENTENCE_END.search(text))
    if words >= 8 and not ends and _title_case_ratio(text) >= 0.7:
        # Runs of capitalised words without punctuation are link lists and menus flattened into one line.
        return "short", -4.0
    if (ends and words >= 5) or (words >= 8 and _INNER_SENTENCE.search(text)):
        score = float(words)
    elif words >= 25:
        # A long line without final punctuation is usually a paragraph whose period was lost.
        score = words * 0.6
    elif ends:
        return "short", 0.5
    elif words >= 10:
        return "short", -2.0
    else:
        return "short", -4.0
    if _TEASER.match(text):
        # "Headline In Title Case Then a summary." is a teaser for another article.
        score *= 0.3
    return "prose", score


def _scan(raw_lines: list[str]) -> list[_Line]:
    lines: list[_Line] = []
    for raw in raw_lines:
        line = _clean_line(raw)
        if not line:
            continue
        if len(lines) >= _MAX_LINES:
            break
        words = _count_words(line)
        kind, score = _classify(line, words)
        lines.append(_Line(line, words, kind, score))
    return lines


def _settle(lines: list[_Line]) -> None:
    """Context rules, applied once every line has its own score."""
    _penalise_menu_runs(lines)
    _discount_comments(lines)


def _penalise_menu_runs(lines: list[_Line]) -> None:
    """Runs of label-like lines are menus, ticker items or link lists; make each member cost more."""
    n = len(lines)
    i = 0
    while i < n:
        if lines[i].kind == "prose":
            i += 1
            continue
        j = i
        while j < n and lines[j].kind != "prose" and lines[j].score <= 0.5:
            j += 1
        if j - i >= 4:
            for k in range(i, j):
                if lines[k].kind == "short":
                    lines[k].score = min(lines[k].score, -6.0)
        i = max(j, i + 1)


def _discount_comments(lines: list[_Line]) -> None:
    # Only a comment heading that closes an article-sized stretch of prose opens the comment zone; a
    # "Comments" button in a share bar above the article must not.
    segment = 0.0
    previous = 0.0
    in_comments = False
    for line in lines:
        if in_comments:
            if line.score > 0:
                line.score *= 0.2
        elif line.kind == "prose":
            segment += line.words
        elif line.kind == "wall":
            if _COMMENTS_START.match(line.text.strip(_DECORATION)) and max(segment, previous) >= 50:
                in_comments = True
            elif segment:
                previous, segment = segment, 0.0


def _best_run(lines: list[_Line]) -> tuple[int, int]:
    """Maximum-sum contiguous run of line scores (Kadane); ``(start, end)`` with end exclusive."""
    best = 0.0
    best_span = (0, 0)
    total = 0.0
    start = 0
    for i, line in enumerate(lines):
        if total <= 0:
            total = 0.0
            start = i
        total += line.score
        if total > best:
            best = total
            best_span = (start, i + 1)
    return best_span


def _trim(lines: list[_Line], start: int, end: int) -> tuple[int, int]:
    """Drop non-prose lines from the edges: titles, bylines and dates above, trailers below."""
    while start < end and lines[start].kind != "prose":
        start += 1
    while end > start and (lines[end - 1].kind not in ("prose", "short") or lines[end - 1].score <= 0):
        end -= 1
    return start, end


def _kept(lines: list[_Line], start: int, end: int) -> list[_Line]:
    return [ln for ln in lines[start:end] if ln.kind in ("prose", "short")]


def clean_page_text(text: str) -> str:
    """The article text of a whole page's text: its main prose run, without chrome or boilerplate.

    Lines are kept as they are (one paragraph per line, separated by blank lines); nothing is invented. An
    input with no prose at all yields an empty string. Never raises on any string.
    """
    if not text:
        return ""
    lines = _scan(_normalise(text).split("\n"))
    _settle(lines)
    start, end = _best_run(lines)
    start, end = _trim(lines, start, end)
    return "\n\n".join(ln.text for ln in _kept(lines, start, end))


# --------------------------------------------------------------------------------------------------------
# Dates.
# --------------------------------------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DATE_MDY = re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_YEAR}\b", re.IGNORECASE)
_DATE_DMY = re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE)
_DATE_ISO = re.compile(
    rf"\b{_YEAR}-(?P<month>\d\d)-(?P<day>\d\d)"
    r"(?:[T ](?P<hour>\d\d):(?P<minute>\d\d)(?::(?P<second>\d\d)(?:\.\d+)?)?\s*(?P<tz>Z|UTC|GMT|[+-]\d\d:?\d\d)?)?"
    r"(?![\d:])",
    re.IGNORECASE,
)
_DATE_NUMERIC = re.compile(rf"\b(?P<a>\d{{1,2}})(?P<sep>[/.])(?P<b>\d{{1,2}})(?P=sep){_YEAR}\b")
_DATE_LABEL = re.compile(
    r"\b(?P<label>first published|published|posted|last updated|updated|modified|date|dated|released)\b"
    r"(?:\s+(?:on|at))?\s*[:\-–—]?\s*",
    re.IGNORECASE,
)
# What may surround a date on a line of its own: weekdays, times, zones and joining words.
_DATE_FILLER = re.compile(
    r"\b(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\b|\b\d{1,2}[:.]\d\d(?:[:.]\d\d)?\b"
    r"|\b[ap]\.?m\b\.?|\b(?:at|on|the|of|[ecmp][sd]?t|utc|gmt|bst|cet|cest|ist|am|pm|h|hrs)\b|[^\w]+",
    re.IGNORECASE,
)


def _date_matches(text: str) -> list[tuple[int, Published]]:
    found: list[tuple[int, Published]] = []
    for m in _DATE_ISO.finditer(text):
        try:
            day = dt.date(int(m["year"]), int(m["month"]), int(m["day"]))
        except ValueError:
            continue
        value: Published = day
        if m["hour"] and m["tz"]:
            tz = m["tz"].upper()
            offset = dt.timedelta(0)
            if tz[0] in "+-":
                digits = tz[1:].replace(":", "")
                offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
                if tz[0] == "-":
                    offset = -offset
            try:
                value = dt.datetime(
                    day.year, day.month, day.day, int(m["hour"]), int(m["minute"]), int(m["second"] or 0),
                    tzinfo=dt.timezone(offset),
                ).astimezone(dt.UTC)  # fmt: skip
            except ValueError:
                value = day
        found.append((m.start(), value))
    for pattern in (_DATE_MDY, _DATE_DMY):
        for m in pattern.finditer(text):
            try:
                found.append((m.start(), dt.date(int(m["year"]), _MONTHS[m["mon"][:3].lower()], int(m["day"]))))
            except ValueError:
                continue
    for m in _DATE_NUMERIC.finditer(text):
        a, b = int(m["a"]), int(m["b"])
        # Dots are the European day.month order; slashes are read month/day unless that is impossible.
        day_first = m["sep"] == "." or a > 12
        month, day_ = (b, a) if day_first else (a, b)
        try:
            found.append((m.start(), dt.date(int(m["year"]), month, day_)))
        except ValueError:
            continue
    found.sort(key=lambda item: item[0])
    return found


def parse_date(text: str) -> Published | None:
    """The first absolute date in ``text``: a ``date``, or an aware UTC ``datetime`` when a zone is given.

    Relative dates ("3 days ago") are not dates: without the page's fetch time they mean nothing.
    """
    found = _date_matches(text[:500])
    return found[0][1] if found else None


def _labelled_date(line: str) -> tuple[int, Published] | None:
    """``(rank, date)`` for "Posted on …", "Published: …", "Updated …"; publication beats update."""
    for m in _DATE_LABEL.finditer(line):
        value = parse_date(line[m.end() : m.end() + 80])
        if value is not None:
            label = m["label"].lower()
            return (1 if label in ("updated", "last updated", "modified") else 0), value
    return None


def _is_bare_date(line: str) -> bool:
    found = _date_matches(line)
    if not found:
        return False
    rest = line
    for pattern in (_DATE_ISO, _DATE_MDY, _DATE_DMY, _DATE_NUMERIC):
        rest = pattern.sub(" ", rest)
    return not _DATE_FILLER.sub("", rest).strip()


def _dateline_date(paragraph: str) -> Published | None:
    """The date in a dateline such as "July 7, 2017 —" or "WASHINGTON, July 7, 2017 (Reuters) -"."""
    m = _DATELINE_SPLIT.search(paragraph[:100])
    if not m:
        return None
    head = paragraph[: m.start()]
    if _INNER_SENTENCE.search(head):
        return None
    return parse_date(head)


_DATELINE_SPLIT = re.compile(r"\s[—–]\s|\s--?\s|\s?\((?:AP|Reuters|AFP|UPI|Bloomberg|dpa|CNN|[A-Z]{2,6})\)\s*[—–\-]+")

# --------------------------------------------------------------------------------------------------------
# Bylines.
# --------------------------------------------------------------------------------------------------------

_BYLINE = re.compile(
    r"^(?:[—–\-]+\s*)?(?:(?:written|posted|words|story|text|reported|article)\s+)?by\b\s*:?\s*(?P<rest>\S.*)$",
    re.IGNORECASE,
)
_AUTHOR_LABEL = re.compile(r"^(?:author|written by|reporter|words)\s*[:\-–—]\s*(?P<rest>\S.*)$", re.IGNORECASE)
_BY_INSIDE = re.compile(r"\b(?:posted|published|written)\b.{0,60}?\bby\s+(?P<rest>\S.*)$", re.IGNORECASE)
_NAME_PARTICLES = frozenset(
    {"de", "da", "van", "von", "der", "den", "del", "della", "di", "du", "la", "le", "bin", "ibn"}
)
_NAME_BREAK = frozenset(
    {"jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june", "jul", "july",
     "aug", "august", "sep", "sept", "september", "oct", "october", "nov", "november", "dec", "december",
     "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "updated", "published",
     "posted", "on", "at", "in", "for", "via"}
)  # fmt: skip
_NOT_A_NAME = frozenset({"admin", "administrator", "editor", "staff", "webmaster", "guest", "user", "anonymous"})
_TRAILER_BYLINE = re.compile(r"^[—–\-]+\s*(?:written\s+)?by\b", re.IGNORECASE)


def _name_from(rest: str) -> str | None:
    """The leading personal or organisation name in ``rest``, in normal case."""
    parts: list[str] = []
    for token in rest.split():
        stop_after = token.endswith((",", ";", "|", ":"))
        clean = token.strip(",;|:()[]{}\"'“”‘’*_")
        if not clean or token.startswith("(") or token in ("|", "/", "•", "·", "-", "–", "—"):
            break
        low = clean.lower()
        if parts and low in _NAME_BREAK:
            break
        if low in ("and", "&") and parts:
            parts.append("and")
        elif clean[0].isupper() or (parts and low in _NAME_PARTICLES):
            parts.append(clean)
        else:
            break
        if stop_after or len(parts) >= 8:
            break
    while parts and (parts[-1] == "and" or parts[-1].lower() in _NAME_PARTICLES):
        parts.pop()
    if not parts or any(ch.isdigit() for ch in "".join(parts)):
        return None
    name = " ".join(parts).rstrip(".")
    if name.lower() in _NOT_A_NAME:
        return None
    letters = [ch for ch in name if ch.isalpha()]
    if letters and all(ch.isupper() for ch in letters):
        name = " ".join(_title_word(w) for w in name.split())
    return name


def _title_word(word: str) -> str:
    if word.lower() == "and":
        return "and"
    # Keep O'Brien, Smith-Jones and initials ("J.R.") right.
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), word)


def _byline_name(line: str, languages: Container[str] = frozenset()) -> str | None:
    """The author named by a byline line ("By Jane Doe", "Author: …", "par Renée Dupont" …), else None.

    ``languages`` holds the words of :data:`FOREIGN_BY` that the text's own language makes likely, which may
    then open a byline even capitalised ("Von Hans Müller" over a German article, not "Von Miller Retires" over
    an English one).
    """
    if len(line) > 160:
        return None
    for pattern in (_BYLINE, _AUTHOR_LABEL):
        m = pattern.match(line)
        if m:
            return _name_from(m["rest"])
    return _foreign_byline_name(line, languages)


#: "By" in the languages whose bylines use a word of their own, and common words of each language that tell a
#: text written in it: French, German, Spanish and Portuguese, Italian, Dutch, Swedish and Norwegian, Danish.
_COMMON_WORDS: Final = {
    "par": "le la les des est une dans pour que qui sur avec pas du et au aux ce cette",
    "von": "der die das und ist nicht mit sich auf für ein eine dem den zu im auch",
    "por": "el los las que del una para con es no um uma dos com os não são mais en",
    "di": "il che della per una non con sono gli del alla nel delle anche lo",
    "door": "het een van en niet dat zijn voor met op ook aan maar bij",
    "av": "och att det som är för med inte på den jeg og ikke er til har",
    "af": "og det at en til er som på de ikke med for har den",
}
FOREIGN_BY: Final = {by: frozenset(words.split()) for by, words in _COMMON_WORDS.items()}
_FOREIGN_BYLINE = re.compile(
    r"^(?:[—–\-]+\s*)?(?P<word>" + "|".join(FOREIGN_BY) + r")\s+(?P<rest>\S.*)$", re.IGNORECASE
)
_NAME_WORD = re.compile(r"^[^\W\d_][\w'’.\-]*$")
_FOREIGN_PARTICLES = _NAME_PARTICLES | {"dos", "das", "do", "des", "e", "y", "ten", "ter", "af", "av", "zu"}
_NAME_END = re.compile(r"\s*(?:[,;|•·(]|\s[-–—]\s)")


def text_languages(text: str) -> frozenset[str]:
    """The words of :data:`FOREIGN_BY` whose language ``text`` seems written in (by its commonest words)."""
    counts = collections.Counter(re.findall(r"[^\W\d_]+", text[:20_000].lower()))
    total = counts.total()
    if total < 20:
        return frozenset()
    # Each language's common words make up a fifth to a third of running text; a tenth is a clear sign.
    return frozenset(by for by, common in FOREIGN_BY.items() if sum(counts[w] for w in common) >= 0.1 * total)


class _LazyLanguages:
    """:func:`text_languages` of a text, worked out only if a capitalised foreign "by" word asks (rarely)."""

    __slots__ = ("_found", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._found: frozenset[str] | None = None

    def __contains__(self, word: object) -> bool:
        if self._found is None:
            self._found = text_languages(self._text)
        return word in self._found


def _foreign_byline_name(line: str, languages: Container[str]) -> str | None:
    """The name in "par Renée Dupont", "di Luigi Rossi, Roma": two to five name words and nothing else before a
    separator. A capitalised "Par"/"Von"/"Di" opens a byline only in a text of that language, since English
    headlines start with those words too."""
    m = _FOREIGN_BYLINE.match(line)
    if m is None:
        return None
    word = m["word"]
    if not word.islower() and word.lower() not in languages:
        return None
    tokens = _NAME_END.split(m["rest"], maxsplit=1)[0].split()
    if not 2 <= len(tokens) <= 5 or not all(_NAME_WORD.match(t) for t in tokens):
        return None
    if not (tokens[0][0].isupper() and tokens[-1][0].isupper()):
        return None
    if any(not t[0].isupper() and t.lower() not in _FOREIGN_PARTICLES for t in tokens):
        return None
    name = " ".join(tokens).rstrip(".")
    letters = [ch for ch in name if ch.isalpha()]
    if all(ch.isupper() for ch in letters):
        name = " ".join(_title_word(w) for w in name.split())
    return name


def _inline_byline_name(line: str) -> str | None:
    """The author in a meta line such as "Posted on July 7, 2017 by Jane Doe"."""
    if len(line) > 160:
        return None
    m = _BY_INSIDE.search(line)
    return _name_from(m["rest"]) if m else None


# --------------------------------------------------------------------------------------------------------
# Markdown and line preparation.
# --------------------------------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<body>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FM_FIELD = re.compile(r"^(?P<key>[A-Za-z_][\w-]{0,100})[ \t]*:(?P<value>.*)$")
_MD_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.+)$")
_MD_HEADING_CLOSE = re.compile(r"(?<=\S)\s+#+$")
_MD_SETEXT = re.compile(r"^(?:=+|-+)\s*$")
# Inline Markdown. Every repeat is bounded, and no part may contain the bracket or delimiter that opens it, so
# the scans started at different places on a line never overlap: matching stays linear even on a hostile line
# of "![![![…" or "*a _b *a _b …", where the unbounded forms took seconds per line. Link text and image alt text
# cannot nest brackets, and a link target may hold one level of parentheses (Wikipedia's "Foo_(bar)").
_MD_IMAGE = re.compile(
    r"!\[(?P<alt>[^\[\]]{0,1000})\]\((?P<src>(?:[^()\s]|\([^()\s]{0,200}\)){1,2000})(?:[ \t]{1,20}\"[^\"]{0,500}\")?\)"
)
_MD_LINK = re.compile(r"\[(?P<text>[^\[\]]{1,1000})\]\((?:[^()]|\([^()]{0,200}\)){0,2000}\)")
# Underscores only emphasise at word boundaries, so snake_case_names survive (as in CommonMark).
_MD_EMPHASIS = re.compile(
    r"\*\*(?=\S)(?P<a>(?:(?!\*\*).){1,2000}?)(?<=\S)\*\*"
    r"|(?<!\w)__(?=\S)(?P<b>(?:(?!__).){1,2000}?)(?<=\S)__(?!\w)"
    r"|(?P<s>[*`])(?=\S)(?P<c>(?:(?!(?P=s)).){1,2000}?)(?<=\S)(?P=s)"
    r"|(?<!\w)_(?=\S)(?P<d>[^_]{1,2000}?)(?<=\S)_(?!\w)"
)
#: Emphasis nests a few levels at most in real text (***bold italic***); each pass strips one level.
_MD_EMPHASIS_PASSES = 4
_MD_LIST = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_MD_QUOTE = re.compile(r"^(?:>\s?)+")
_MD_RULE = re.compile(r"^(?:[-*_]\s*){3,}$")
_MD_FENCE = re.compile(r"^(?:```|~~~)")
_HEADING_HINT = re.compile(r"^#{1,6}\s+\S", re.MULTILINE)


@dataclass(slots=True)
class _Prepared:
    lines: list[str]
    headings: dict[int, int]
    """Line index → heading level, for Markdown headings."""
    meta: dict[str, str]
    image_url: str | None


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value.strip()


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    meta: dict[str, str] = {}
    for raw in m["body"].split("\n"):
        field = _FM_FIELD.match(raw)
        value = field["value"].strip() if field else ""
        if field and value and not value.startswith(("[", "{", "|", ">")):
            meta.setdefault(field["key"].lower(), _unquote(value))
    return meta, text[m.end() :]


def _emphasis_inner(match: re.Match[str]) -> str:
    return next(text for text in match.group("a", "b", "c", "d") if text is not None)


def _strip_inline_markdown(line: str) -> str:
    line = _MD_LINK.sub(lambda m: m["text"], line)
    for _ in range(_MD_EMPHASIS_PASSES):
        stripped = _MD_EMPHASIS.sub(_emphasis_inner, line)
        if stripped == line:
            break
        line = stripped
    return line


def _prepare(text: str) -> _Prepared:
    meta, text = _front_matter(text)
    markdown = bool(meta) or bool(_HEADING_HINT.search(text[:200_000]))
    out: list[str] = []
    headings: dict[int, int] = {}
    image_url: str | None = None
    in_fence = False
    paragraph_open = False
    for raw in text.split("\n"):
        line = _clean_line(raw)
        if markdown:
            if _MD_FENCE.match(line):
                in_fence = not in_fence
                paragraph_open = False
                continue
            if in_fence:
                out.append(line)
                continue
            if line and _MD_SETEXT.match(line) and paragraph_open and out and len(line) >= 2:
                headings[len(out) - 1] = 1 if line[0] == "=" else 2
                paragraph_open = False
                continue
            if _MD_RULE.match(line):
                out.append("")
                paragraph_open = False
                continue
            for image in _MD_IMAGE.finditer(line):
                image_url = image_url or image["src"]
            line = _MD_IMAGE.sub(lambda m: m["alt"], line).strip()
            heading = _MD_HEADING.match(line)
            if heading:
                headings[len(out)] = len(heading["hashes"])
                heading_text = _MD_HEADING_CLOSE.sub("", heading["text"]).strip() or heading["text"].strip()
                out.append(_strip_inline_markdown(heading_text))
                paragraph_open = False
                continue
            item = bool(_MD_LIST.match(line))
            line = _strip_inline_markdown(_MD_LIST.sub("", _MD_QUOTE.sub("", line)))
            if not line:
                out.append("")
                paragraph_open = False
                continue
            if paragraph_open and not item and out and out[-1]:
                # Markdown wraps paragraphs freely; a single newline inside one is just a space.
                out[-1] = f"{out[-1]} {line}"
                continue
            out.append(line)
            paragraph_open = True
        else:
            if line and out and out[-1] and _is_wrapped(out[-1], line):
                out[-1] = f"{out[-1]} {line}"
            else:
                out.append(line)
    return _Prepared(out, headings, meta, image_url)


def _is_wrapped(previous: str, line: str) -> bool:
    """Whether ``line`` continues a hard-wrapped ``previous`` line of the same paragraph."""
    return len(previous) >= 40 and not _SENTENCE_END.search(previous) and line[:1].islower()


# --------------------------------------------------------------------------------------------------------
# Parsing a page.
# --------------------------------------------------------------------------------------------------------

_BINARY_CHARS = re.compile(r"[\x00-\x08\x0e-\x1a\ufffd]")


def _check_text(text: str) -> None:
    if not text or not text.strip():
        raise ParseError("The text is empty: there is nothing to parse.")
    sample = text[:20_000]
    if len(_BINARY_CHARS.findall(sample)) > max(8, len(sample) // 100):
        raise ParseError("The file does not look like text: it contains binary data.")


def _is_heading_like(line: _Line) -> bool:
    if line.kind not in ("short", "prose") or not 1 <= line.words <= 30 or len(line.text) > 250:
        return False
    if line.text.endswith((".", ",", ";", ":")) and not line.text.endswith("..."):
        return False
    return not _INNER_SENTENCE.search(line.text)


def _in_menu(lines: list[_Line], i: int) -> bool:
    """A one- to three-word label next to other such labels is a menu entry, not a title."""
    if lines[i].words > 3:
        return False

    def label(j: int) -> bool:
        return 0 <= j < len(lines) and lines[j].kind in ("short", "noise", "wall") and lines[j].words <= 3

    return label(i - 1) or label(i + 1)


def _pick_title(lines: list[_Line], start: int, headings: dict[int, int]) -> int | None:
    """Index of the title line: the first top-level Markdown heading, else the fullest heading-like line above
    the body (site names and section labels above it are shorter than a headline)."""
    if headings:
        top = min(headings.values())
        for i in range(len(lines)):
            if headings.get(i) == top:
                return i
    best: int | None = None
    best_weight = 0
    limit = min(len(lines), start + 1)
    for i in range(limit):
        line = lines[i]
        if i == start and best is not None:
            break
        if not _is_heading_like(line) or _in_menu(lines, i):
            continue
        # A headline sits right above the article (only bylines, dates and captions between them); ticker
        # items, site names and teasers further up lose to it unless they are much fuller.
        adjacent = all(ln.kind not in ("short", "prose") for ln in lines[i + 1 : start])
        weight = line.words + (4 if adjacent else 0)
        if best is None or weight >= best_weight:
            best, best_weight = i, weight
    if best is None and lines and _is_heading_like(lines[0]) and lines[0].words >= 2:
        best = 0
    return best


def parse_text(text: str, *, url: str | None = None) -> ParsedArticle:
    """Parse a plain-text (or Markdown) article page into its fields, dropping the page's chrome.

    Raises :class:`ParseError` when the text is empty, binary, or has no recognisable title or body.
    """
    _check_text(text)
    prepared = _prepare(_normalise(text))
    meta = prepared.meta
    languages = _LazyLanguages(text)

    # Keep raw indexes aligned with the scored lines so Markdown heading positions survive.
    lines: list[_Line] = []
    headings: dict[int, int] = {}
    for index, raw in enumerate(prepared.lines):
        line = _clean_line(raw)
        if not line:
            continue
        if len(lines) >= _MAX_LINES:
            break
        words = _count_words(line)
        kind, score = _classify(line, words)
        if index in prepared.headings:
            headings[len(lines)] = prepared.headings[index]
            kind, score = "heading", -4.0
        elif words <= 16 and (_byline_name(line, languages) or (_TRAILER_BYLINE.match(line) and words <= 10)):
            kind, score = "byline", -4.0
        elif words <= 16 and (_is_bare_date(line) or _labelled_date(line)):
            kind, score = "date", -4.0
        lines.append(_Line(line, words, kind, score))
    if not lines:
        raise ParseError("The text is empty: there is nothing to parse.")
    _settle(lines)

    start, end = _best_run(lines)
    start, end = _trim(lines, start, end)

    title_index: int | None = None
    title = meta.get("title") or None
    if not title:
        title_index = _pick_title(lines, start, headings)
        if title_index is None:
            raise ParseError("No recognisable title: the text has no heading-like first line.")
        title = lines[title_index].text.strip("#*_ ")
        if start <= title_index < end:
            start = title_index + 1
            start, end = _trim(lines, start, end)

    body_lines = [
        ln.text
        for i, ln in enumerate(lines[start:end], start)
        if ln.kind in ("prose", "short", "heading") and i != title_index
    ]
    if not body_lines:
        raise ParseError("No article body: the text has a title but no paragraphs of prose.")

    outside = [ln for i, ln in enumerate(lines) if not start <= i < end and i != title_index]
    caption = next((ln.text for ln in lines if ln.kind == "caption"), None)
    author = meta.get("author") or meta.get("authors") or _find_author(lines, start, end, languages)
    published = _find_published(meta, outside, body_lines[0], caption)
    return ParsedArticle(
        title=title,
        body="\n\n".join(body_lines),
        author=author or None,
        published=published,
        caption=caption,
        url=url or meta.get("url") or meta.get("link") or meta.get("canonical") or None,
        image_url=meta.get("image") or prepared.image_url,
        site_name=meta.get("site") or meta.get("site_name") or None,
        summary=meta.get("summary") or meta.get("description") or None,
    )


def _find_author(lines: list[_Line], start: int, end: int, languages: Container[str]) -> str | None:
    # A byline above the body is the most deliberate; one below it (a "— Written by" trailer) comes next.
    ordered = lines[:start] + lines[end:]
    for line in ordered:
        if line.kind == "byline":
            name = _byline_name(line.text, languages)
            if name:
                return name
    for line in ordered:
        if line.kind in ("date", "short", "noise", "wall"):
            name = _inline_byline_name(line.text)
            if name:
                return name
    return None


def _find_published(
    meta: dict[str, str], outside: list[_Line], first_paragraph: str, caption: str | None
) -> Published | None:
    for key in ("date", "published", "pubdate", "published_at", "created"):
        if meta.get(key):
            value = parse_date(meta[key])
            if value is not None:
                return value
    labelled = [found for ln in outside if ln.words <= 40 and (found := _labelled_date(ln.text))]
    if labelled:
        return min(labelled, key=lambda item: item[0])[1]
    dateline = _dateline_date(first_paragraph)
    if dateline is not None:
        return dateline
    for line in outside:
        if line.kind in ("date", "byline") and (value := parse_date(line.text)) is not None:
            return value
    if caption:
        return parse_date(caption)
    return None
