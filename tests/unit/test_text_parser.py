"""Plain-text article parsing (``parse_text``) and whole-page cleaning (``clean_page_text``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.news.text import clean_page_text, parse_date, parse_text

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "tests" / "fixtures" / "pages"
SEED = ROOT / "data" / "articles" / "000_6f969e6731c04e5e.txt"

# Lines of page furniture that must never reach an article body, whatever the page.
BOILERPLATE = (
    "News Ticker",
    "Share Your Thoughts",
    "bloggers like this",
    "Patreon",
    "Share this",
    "Like this",
    "Like Loading",
    "Leave a",
    "Related",
    "Tagged",
    "Tags:",
    "Previous Post",
    "Next Post",
    "Previous article",
    "Subscribe",
    "cookies",
    "©",
    "Advertisement",
    "Read more",
    "Comments",
    "Skip to content",
    "Home »",
    "Home /",
    "Written by",
    "REUTERS/",
    "Reporting by",
)


def page(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def assert_clean(body: str) -> None:
    for needle in BOILERPLATE:
        assert needle.lower() not in body.lower(), needle


def test_seed_article() -> None:
    article = parse_text(SEED.read_text(encoding="utf-8"))
    assert article.title == "Trump-Putin Meeting Yields Success and Concession"
    assert article.author == "Laurie Kotka"
    assert article.published == dt.date(2017, 7, 7)
    assert type(article.published) is dt.date
    assert article.caption is not None and "REUTERS/Carlos Barria" in article.caption
    assert article.body.startswith("Amid the backdrop of the G20 summit in Hamburg")
    assert article.body.endswith("bettering U.S.-Russian relations.")
    assert len(article.paragraphs) == 10
    assert "\n\n\n" not in article.body
    assert_clean(article.body)


def test_wordpress_posted_on_with_share_and_comment_widgets() -> None:
    article = parse_text(page("wordpress_posted_on.txt"), url="https://ledger.example/budget")
    assert article.title == "City Council Approves New Budget After Marathon Session"
    assert article.author == "Dana Whitfield"
    assert article.published == dt.date(2019, 3, 3)
    assert article.caption is None
    assert article.url == "https://ledger.example/budget"
    assert article.paragraphs[0].startswith("The Riverside City Council approved")
    assert article.paragraphs[-1] == "The budget takes effect on July 1."
    assert len(article.paragraphs) == 5
    assert_clean(article.body)


def test_all_caps_byline_published_label_and_mid_article_advert() -> None:
    article = parse_text(page("allcaps_byline_published.txt"))
    assert article.title == "Glacier Retreat Speeds Up Across the Southern Alps"
    assert article.author == "Jane O'Brien-Smith"
    assert article.published == dt.date(2020, 3, 12)
    assert article.caption == (
        "Meltwater pours from the terminal face of the Fox Glacier on the West Coast. (Photo: Tom Reyes/Daily Planet)"
    )
    assert len(article.paragraphs) == 4
    assert article.paragraphs[2].startswith("Researchers said the losses")
    assert article.body.endswith('will simply not be here in twenty years."')
    assert_clean(article.body)


def test_agency_dateline_and_caption_inside_the_body() -> None:
    article = parse_text(page("dateline_reuters.txt"))
    assert article.title == "U.S. and Canada Agree to Reopen Border Crossings"
    assert article.author == "Steve Holland"
    assert article.published == dt.date(2017, 7, 7)
    assert article.caption is not None and article.caption.endswith("REUTERS/Rebecca Cook")
    assert article.body.startswith("WASHINGTON, July 7, 2017 (Reuters) - The United States and Canada")
    assert article.body.endswith("by the end of the month.")
    assert len(article.paragraphs) == 4
    assert_clean(article.body)


def test_em_dash_dateline_and_written_by_trailer() -> None:
    article = parse_text(page("dateline_written_by.txt"))
    assert article.title == "Harbour Town Opens Its First Public Rooftop Garden"
    assert article.author == "Sam Carter"
    assert article.published == dt.date(2017, 7, 7)
    assert article.caption is not None and article.caption.endswith("Photo credit: Lena Gray")
    assert article.body.endswith('find out."')
    assert len(article.paragraphs) == 4
    assert_clean(article.body)


def test_bare_date_line_byline_after_body_and_comment_section() -> None:
    article = parse_text(page("bare_date_trailing_byline.txt"))
    assert article.title == "The Quiet Keyboard That Finally Won Me Over"
    assert article.author == "Ana Lima"
    assert article.published == dt.date(2019, 11, 15)
    assert article.caption is None
    assert len(article.paragraphs) == 4
    assert article.body.endswith("I would happily recommend.")
    assert "battery claim" not in article.body  # a reader's comment
    assert_clean(article.body)


def test_date_only_in_caption_relative_date_ignored_and_donation_appeals() -> None:
    article = parse_text(page("caption_only_date.txt"))
    assert article.title == "Volcano Eruption Forces Evacuation of Island Villages"
    assert article.author is None
    assert article.published == dt.date(2018, 3, 2)
    assert article.caption is not None and "AFP/Getty Images" in article.caption
    assert len(article.paragraphs) == 3
    assert article.body.endswith("could follow in the coming days.")
    assert "donation" not in article.body
    assert_clean(article.body)


def test_iso_timestamp_and_author_label() -> None:
    article = parse_text(page("iso_date_author_label.txt"))
    assert article.title == "Open Source Project Ships Its First Stable Release"
    assert article.author == "Priya Patel"
    assert article.published == dt.datetime(2021, 5, 4, 7, 30, tzinfo=dt.UTC)
    assert len(article.paragraphs) == 3
    assert_clean(article.body)


def test_markdown_front_matter() -> None:
    article = parse_text(page("markdown_front_matter.md"))
    assert article.title == "Night Trains Return to the Alps"
    assert article.author == "Lukas Berger"
    assert article.published == dt.date(2023, 12, 10)
    assert article.url == "https://example.org/night-trains-alps"
    assert article.image_url == "https://example.org/img/nightjet.jpg"
    assert article.paragraphs[0] == (
        "Night trains are back on the timetable across the Alps, with three new routes linking Zurich, Vienna and "
        "Milan starting this week."
    )
    # A hard-wrapped Markdown paragraph is one paragraph.
    assert article.paragraphs[1] == (
        "Rail operators say demand has grown steadily since 2020, as travellers look for alternatives to short flights."
    )
    assert "**" not in article.body and "](" not in article.body


def test_markdown_heading_with_emphasised_caps_byline() -> None:
    article = parse_text(page("markdown_heading.md"))
    assert article.title == "Community Radio Station Celebrates Fifty Years"
    assert article.author == "Marta Kowalski"
    assert article.published == dt.date(2019, 1, 2)
    assert len(article.paragraphs) == 3
    assert_clean(article.body)


def test_no_title_is_a_clear_error() -> None:
    with pytest.raises(ParseError, match="No recognisable title") as info:
        parse_text(page("no_title.txt"))
    message = str(info.value)
    assert "\n" not in message and message.endswith(".")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("   \n\n\t  ", "empty"),
        ("\x00\x01\x02binary\x00\x00\x03" * 200, "binary"),
        ("Site Name\n\nHome\nNews\nAbout\n\nShare this:\n\nFacebook\n", "No article body|No recognisable title"),
    ],
)
def test_unparseable_input(text: str, match: str) -> None:
    with pytest.raises(ParseError, match=match):
        parse_text(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Posted on July 7, 2017 at 4:02 pm", dt.date(2017, 7, 7)),
        ("Friday, 15 November 2019", dt.date(2019, 11, 15)),
        ("Sept. 3, 2021", dt.date(2021, 9, 3)),
        ("2017-07-07", dt.date(2017, 7, 7)),
        ("2017-07-07T23:30:00-05:00", dt.datetime(2017, 7, 8, 4, 30, tzinfo=dt.UTC)),
        ("11/20/2019 01:14 PM", dt.date(2019, 11, 20)),
        ("20.11.2019", dt.date(2019, 11, 20)),
        ("3 days ago", None),
        ("February 30, 2019", None),
        ("no date here", None),
    ],
)
def test_parse_date(text: str, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


def test_clean_page_text_keeps_the_article_and_drops_the_page() -> None:
    page_text = "\n".join(
        [
            "Storm Knocks Out Power Across the Valley - Valley Herald",
            "",
            "Skip to content",
            "Subscribe",
            "Sign In",
            "",
            "News",
            "Sports",
            "Business",
            "Opinion",
            "Obituaries",
            "",
            "Home » News » Weather",
            "",
            "Storm Knocks Out Power Across the Valley",
            "By KELLY NGUYEN",
            "Updated 6:02 am EST, Wednesday, November 20, 2019",
            "",
            "More than 40,000 homes lost power overnight as a fast-moving storm brought wind gusts of up to 70 miles "
            "per hour to the valley, utility officials said.",
            "",
            "Crews from three neighbouring counties were called in to help restore service, and the utility said most "
            "customers should have power back by Thursday evening.",
            "",
            "Advertisement",
            "",
            "Schools in the two hardest-hit districts closed for the day, and the county opened a warming centre at "
            "the fairgrounds for residents without heat.",
            "",
            "Share this:",
            "Facebook",
            "Twitter",
            "Email",
            "",
            "Most Popular",
            "Council delays vote on parking fees",
            "High school team wins state title",
            "",
            "Copyright © 2019 Valley Herald. All rights reserved.",
            "Privacy Policy",
            "Terms of Use",
        ]
    )
    cleaned = clean_page_text(page_text)
    paragraphs = cleaned.split("\n\n")
    assert paragraphs[0].startswith("More than 40,000 homes lost power")
    assert paragraphs[-1].endswith("for residents without heat.")
    assert len(paragraphs) == 3
    for needle in ("Advertisement", "Share this", "Most Popular", "Copyright", "KELLY", "Skip to content"):
        assert needle not in cleaned


@pytest.mark.parametrize(
    "text",
    ["", "\x00" * 1000, "\ufffd\x07\x1b[31m" * 500, "a" * 300_000, "word " * 200_000, "\n" * 100_000, "é\r\n" * 1000],
)
def test_clean_page_text_never_crashes(text: str) -> None:
    assert isinstance(clean_page_text(text), str)


def test_clean_page_text_matches_parse_text_on_the_seed() -> None:
    cleaned = clean_page_text(SEED.read_text(encoding="utf-8"))
    assert cleaned.startswith("Amid the backdrop of the G20 summit in Hamburg")
    assert cleaned.endswith("bettering U.S.-Russian relations.")
    assert_clean(cleaned)
