"""Built-in spam checks: an ordered pipeline of small, pure checks (no network, no learning).

Each ``check_*`` function looks at one signal of a :class:`Candidate` and returns a
:class:`Verdict` or ``None``; its docstring says what the signal is and why it means spam.
:func:`check` runs :data:`CHECKS` in order, :func:`decide` keeps the strongest verdict. What
the site's lists (:class:`SpamRules`) match is held, or rejected with ``blocked_action=
"reject"``; what heuristics guess is only held: a guess can be wrong, a hold can be undone.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Literal
from urllib.parse import urlsplit

Action = Literal["publish", "hold", "reject"]
#: Weakest first: :func:`decide` keeps the strongest verdict.
ACTIONS: tuple[Action, ...] = ("publish", "hold", "reject")


def _phrases(text: str) -> tuple[str, ...]:
    """Parse ``topic: phrase, phrase, ...`` lines; a topic is only a heading."""
    return tuple(p.strip() for p in re.sub(r"(?m)^[\w ]+:", ",", text).split(",") if p.strip())


#: Spam vocabulary, held wherever it appears. Phrases must be rare in genuine comments: not
#: "online casino", "payday loans" or "essay writing", which readers discuss in the news.
SPAM_PHRASES = _phrases("""pharmacy: viagra, cialis, levitra, kamagra, sildenafil, tadalafil,
    vardenafil, tramadol, xanax, phentermine, without prescription, no prescription needed,
    no doctor needed, online pharmacy, cheap pills, male enhancement, fat burner,
    discreet packaging
gambling: casino bonus, casino bonuses, free spins, no deposit bonus, no deposit required,
    deposit bonus, first deposit, welcome bonus, bonus code, free bet, betting tips, slot games
finance: bitcoin investment, crypto investment, investment platform, guaranteed profit,
    guaranteed returns, daily profits, daily returns, double your bitcoin, forex signals,
    trading signals, binary options, account manager, funds recovery, recover your lost,
    asset recovery, cloud mining, passive income, airdrop, presale, crypto giveaway, private lender,
    urgent loan, loan offer, guaranteed loans, no credit check, instant approval
easy money: make money online, make money from home, earn money from home, make money fast,
    earn extra cash, extra income, paid surveys, copy and paste, no experience needed,
    no experience required, financial freedom, on autopilot, one weird trick
self promotion: seo services, seo company, backlinks, link building, guest post, guest posts,
    link insertion, first page of google, website traffic, targeted visitors, buy followers,
    instagram followers, tiktok likes, youtube views, group buy, visit my site, visit my website,
    visit my blog, check out my site, check out my website, check out my blog, link in my profile,
    link in my name, link in bio
goods: replica watches, replica bags, replica handbags, aaa replica, fake rolex, cheap jerseys,
    fake passports, fake documents
writing: writing service, write my essay, buy essays, custom essays, essay help, homework help,
    do my homework, assignment help, dissertation help, thesis writing, take my online class,
    take my class, plagiarism free
dating: hot singles, meet singles, adult dating, sugar daddy, hookup, escort service,
    private photos, lonely girl, looking for fun, beautiful women
scams: claim your prize, claim your reward, you have won, you have been selected, hacker for hire,
    love spell, spell caster, money spells
russian: казино, ставки на спорт, заработок в интернете, без вложений, кредит онлайн, вы выиграли,
    заберите приз""")
#: Sales talk: ordinary words alone, an advert next to a link, a website or a contact.
ADVERT_PHRASES = _phrases("""calls: call now, book now, book online, apply now, apply online,
    apply today, order now, order online, order today, shop now, shop online, buy now, buy online,
    buy today, sign up now, sign up today, register now, register today, join now, join today,
    download now, click here, free quote, free trial, free registration, free shipping
offers: limited offer, limited time, today only, best deals, great prices, best prices, best price,
    lowest price, cheapest price, money back guarantee, worldwide shipping, outlet store,
    factory outlet, clearance sale, we offer, we provide, our services, our products,
    doesn't want you to know, don't want you to know""")
#: Generic praise that says nothing about the article: adjective with noun, set phrases.
_GOOD = "great nice awesome good excellent amazing wonderful useful informative helpful fantastic"
_THING = "post article info information blog site website content read stuff piece share work job"
FLATTERY = tuple(f"{a} {t}" for a in _GOOD.split() for t in _THING.split()) + _phrases("""
    thanks for sharing, thank you for sharing, thanks for the article, thanks for the info,
    thank you for posting, thanks for posting, keep up the good work, keep it up, well written,
    very informative, very helpful, very useful, really enjoyed, i like this, bookmark, bookmarked,
    bookmarking, stumbled upon, your blog, this blog, blogging, blog platform, your site,
    your website, your theme""")
#: Words worth disguising: spelled ``c@sino`` or with look-alike letters, a sign of spam.
DISGUISED = _phrases("""words: casino, bonus, spins, slots, poker, betting, viagra, cialis, pills,
    pharmacy, prescription, loan, loans, credit, bitcoin, crypto, forex, profit, investment, cash,
    money, earn, income, free, replica, essay, followers, dating, sexy, escort, porn""")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What one check says about a comment: an action, the check's name, why (for moderators)."""

    action: Action
    check: str
    reason: str

    def __post_init__(self) -> None:
        if self.action not in ACTIONS or not self.reason.strip():
            raise ValueError(f"a verdict needs an action of {ACTIONS} and a reason: {self!r}")


PUBLISH = Verdict("publish", "none", "No check found a sign of spam.")  # when none objected


@dataclasses.dataclass(frozen=True)
class SpamRules:
    """The site's settings for the checks; the defaults suit a news or debate site."""

    #: More links than this in the body are held.
    max_links: int = 2
    #: Words and phrases the site blocks (whole words, after :func:`normalise`).
    blocked_words: tuple[str, ...] = ()
    #: Email addresses the site blocks (case-insensitive).
    blocked_emails: tuple[str, ...] = ()
    #: Domains the site blocks, with their subdomains, in emails and websites.
    blocked_domains: tuple[str, ...] = ()
    #: What happens to what the three block lists match: ``hold`` or ``reject``.
    blocked_action: Action = "hold"
    #: Spam vocabulary, always held; ``()`` turns the ``phrases`` check off.
    phrases: tuple[str, ...] = SPAM_PHRASES
    #: Longer runs of one character are held.
    max_repeat: int = 9

    def __post_init__(self) -> None:
        bad = self.blocked_action not in ("hold", "reject") or self.max_links < 0
        if bad or self.max_repeat < 1:
            raise ValueError("blocked_action: hold or reject; max_links >= 0; max_repeat >= 1")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Candidate:
    """A comment as the checks see it: what the reader typed, the body in Markdown."""

    name: str = ""
    email: str = ""
    website: str = ""
    body: str
    #: The poster's address, for callers that log it; no built-in check reads it.
    ip: str | None = None


#: Cyrillic and Greek letters read as Latin ones (lower case, after case folding).
_LOOKALIKES = str.maketrans("аеорсухіјѕԁһӏкмтвнαοριυνκτ", "aeopcyxijsdhikmtbhaopiuvkt")
#: Leetspeak: digits and symbols standing for letters, in words or alone ("c @ s i n o").
_LEET = str.maketrans("013457@$!|", "oieastasii")
#: Single letters separated by one space, dot, dash... ("c a s i n o", "v.i.a.g.r.a").
_SPACED = re.compile(r"(?<![^\W\d_])[^\W\d_](?:[ ._*-][^\W\d_](?![^\W\d_])){2,}")


def _unleet(match: re.Match[str]) -> str:
    token, core = match.group(), match.group().strip(".,;:!?\"'()[]{}<>*~")
    leet = core and (len(core) == 1 or any(ch.isalpha() for ch in core))
    return token.replace(core, core.translate(_LEET)) if leet else token


@functools.lru_cache(maxsize=8)  # one check of a comment normalises the same text again
def normalise(text: str, *, unmask: bool = True) -> str:
    """Text reduced to its words, padded with spaces (``" w w "``) for whole-word matching:
    accents dropped, case folded, repeated letters squeezed, ``l`` read as ``i`` (as ``1``).

    With ``unmask``, disguises are undone first: circled, full-width or bold letters, invisible
    characters, Cyrillic and Greek look-alikes, leetspeak (``c@sino``), spaced ``c a s i n o``.
    """
    if unmask:
        text = unicodedata.normalize("NFKC", text)
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = unicodedata.normalize("NFKD" if unmask else "NFD", text.casefold())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    if unmask:
        text = re.sub(r"\S+", _unleet, text.translate(_LOOKALIKES))
        text = _SPACED.sub(lambda m: re.sub(r"[ ._*-]", "", m.group()), text)
    text = re.sub(r"([^\W\d_])\1+", r"\1", text).replace("l", "i")
    return " " + " ".join(re.findall(r"[^\W\d_]+", text)) + " "


@functools.lru_cache(maxsize=16)
def _normalised(phrases: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((phrase, n) for phrase in phrases if (n := normalise(phrase)).strip())


def _find(text: str, phrases: tuple[str, ...]) -> str | None:
    """The first of ``phrases`` found in ``text`` as whole words, or ``None``."""
    if not phrases:
        return None
    normal = normalise(text)
    return next((phrase for phrase, n in _normalised(tuple(phrases)) if n in normal), None)


#: Domains of bare addresses ("pills.test/buy"), not word-like ones: "end.In" is a typo.
_TLDS = "com|net|org|info|biz|io|ru|uk|de|fr|eu|xyz|top|online|site|shop|store|club|live|app|ly"
_TLDS += "|cc|ws|pw|tk|pro|vip|bet|casino|loan|click|link|buzz|test|example"
_LINK = re.compile(
    r"(?is)\[(?:url|link)\b[^\]]{0,500}\].{0,300}?\[/(?:url|link)\]"  # BBCode
    r"|<a\s[^>]{0,500}>(?:[^<]{0,300}</a>)?"  # HTML anchor
    r"|!?\[[^\]\n]{0,300}\]\(\s*[^)\s]{1,2000}(?:\s[^)\n]{0,300})?\)"  # Markdown link/image
    r"|\b(?:https?://|www\.)[^\s<>\"'\])]+"  # URL
    rf"|(?<![@\w.-])[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.(?:{_TLDS})\b"
    r"(?:/[^\s<>\"')\]]*)?"  # bare domain
)
_MARKUP = re.compile(r"(?i)<a\s[^>]{0,500}href|\[/?(?:url|link|img)\b[^\]]{0,500}\]")
_HANDLE = re.compile(
    r"(?i)\b(?:whats\s?app|telegram|viber|wechat|skype)\b|\b(?:t|wa)\.me/"
    r"|(?:\+|\b00)\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}\b"  # +44 7700 900123
    r"|\(\d{3}\)\s?\d{3}[\s.-]\d{4}\b|\b\d{3}[.-]\d{3}[.-]\d{4}\b"  # (555) 010-2299
    r"|\b[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+"  # an email address
    r"|\b(?:contact|text|call|message|email|e-mail|dm|write to|reach)\s+(?:me|him|her|us)\b"
)
#: Money, miracle cures and romance: what scams ask you to get in touch about.
_LURE = re.compile(
    r"(?i)[$€£]\s?\d|\d\s?(?:[$€£]|usd|eur|dollars|euros)|\b(?:money|cash|loans?|lender|credit"
    r"|invest\w*|profits?|earn\w*|income|bitcoin|btc|crypto\w*|forex|trad(?:e|er|ing)|returns"
    r"|funds|bonus|wholesale|prices?|price list|for sale|prizes?|lottery|spells?|hack\w*"
    r"|cure[sd]?|herbal|lonely|sexy|dating|singles|handsome|(?:my|private) photos)\b"
)
_AMOUNT = r"(?:[$€£]\s?\d[\d,.]{0,15}k?|(?<![\d,.])\d[\d,.]{0,15}k?\s?(?:[$€£]|dollars|euros))"
#: Earnings: an amount (or a percentage) per hour, day or week, or earned, made or paid.
_EARNINGS = re.compile(
    rf"(?i){_AMOUNT}\s*(?:(?:/|per|a|an|each|every)\s*(?:hour|day|week)\b|daily|weekly)"
    r"|\d\s?%\s*(?:(?:/|per|a|each|every)\s*(?:day|week)\b|daily|weekly)"
    rf"|\b(?:earn\w*|makes?|making|made|paid)\s+(?:\w+\s+){{0,2}}{_AMOUNT}"
)
_PITCH = re.compile(
    r"(?i)\b(?:from home|at home|online|no experience|spare time|part[- ]time|laptop|easy"
    r"|simple|autopilot|guaranteed|just by|without investment|no investment)\b"
)


def count_links(text: str) -> int:
    """Links in a body, each once: URLs, bare domains, Markdown, HTML ``<a>``, BBCode."""
    return sum(1 for _ in _LINK.finditer(text))


def _host(address: str) -> str:
    address = address.rpartition("@")[2].strip() if "@" in address else address.strip()
    return (urlsplit(address if "//" in address else f"//{address}").hostname or "").rstrip(".")


def _linked(c: Candidate) -> bool:
    """Whether the comment brings a link: a website, a link in the body, or a contact."""
    return bool(c.website or count_links(c.body) or _HANDLE.search(c.body))


def _when(found: object, check: str, reason: str, action: Action = "hold") -> Verdict | None:
    return Verdict(action, check, reason) if found else None


def check_blocked_sender(c: Candidate, rules: SpamRules) -> Verdict | None:
    """The email, or the domain (or a parent domain) of the email or website, is blocked."""
    if c.email and c.email.strip().lower() in {e.strip().lower() for e in rules.blocked_emails}:
        return Verdict(rules.blocked_action, "blocked_sender", "The email address is blocked.")
    for field, host in (("email", _host(c.email)), ("website", _host(c.website))):
        for domain in (d.strip().lower().strip(".") for d in rules.blocked_domains):
            if domain and host and (host == domain or host.endswith(f".{domain}")):
                reason = f"The {field}'s domain {host} is blocked ({domain})."
                return Verdict(rules.blocked_action, "blocked_sender", reason)
    return None


def check_blocked_words(c: Candidate, rules: SpamRules) -> Verdict | None:
    """A word or phrase on the site's list in the name or body, disguised or not."""
    word = _find(f"{c.name}\n{c.body}", rules.blocked_words)
    return _when(word, "blocked_words", f"Blocked word: “{word}”.", rules.blocked_action)


def check_markup(c: Candidate, rules: SpamRules) -> Verdict | None:
    """HTML ``<a href>`` or BBCode ``[url]``: readers write Markdown, scripts paste markup."""
    found = _MARKUP.search(c.body)
    return _when(found, "markup", f"Contains {found and found.group()[:40]!r}, not Markdown.")


def check_links(c: Candidate, rules: SpamRules) -> Verdict | None:
    """More than ``max_links`` links: a reader cites a source or two, a link drop many."""
    n = count_links(c.body)
    return _when(n > rules.max_links, "links", f"{n} links (more than {rules.max_links}).")


def check_phrases(c: Candidate, rules: SpamRules) -> Verdict | None:
    """Spam vocabulary (:data:`SPAM_PHRASES`) in the name, email, website or body."""
    phrase = _find(f"{c.name}\n{c.email.replace('@', ' ')}\n{c.website}\n{c.body}", rules.phrases)
    return _when(phrase, "phrases", f"Contains the spam phrase “{phrase}”.")


def check_disguised(c: Candidate, rules: SpamRules) -> Verdict | None:
    """A spam word seen only once disguises are undone: ``c@sino`` is written to slip by."""
    text = f"{c.name}\n{c.body}"
    unmasked, plain = normalise(text), normalise(text, unmask=False)
    word = next((w for w, n in _normalised(DISGUISED) if n in unmasked and n not in plain), None)
    return _when(word, "disguised", f"Contains “{word}”, disguised.")


def check_mixed_script(c: Candidate, rules: SpamRules) -> Verdict | None:
    """A word mixing Latin and Cyrillic letters: people write one alphabet, filters don't."""
    for word in re.findall(r"[^\W\d_]+", f"{c.name} {c.body}"):
        if {"LATIN", "CYRILLIC"} <= {unicodedata.name(ch, "?").split()[0] for ch in word}:
            return Verdict("hold", "mixed_script", f"“{word}” mixes Latin and Cyrillic letters.")
    return None


def check_contact(c: Candidate, rules: SpamRules) -> Verdict | None:
    """A messenger, phone, email or "contact me" with money, cures or romance: scams."""
    handle, lure = _HANDLE.search(c.body), _LURE.search(c.body)
    what = f"“{handle and handle.group()}” and “{lure and lure.group()}”"
    return _when(handle and lure, "contact", f"Asks for contact about money or romance: {what}.")


def check_money(c: Candidate, rules: SpamRules) -> Verdict | None:
    """'$$$' with a link, or earnings ('$300 a day') with 'from home', 'online', a contact."""
    pitch = _PITCH.search(c.body) or _HANDLE.search(c.body)
    if re.search(r"[$€£]{3,}", c.body) and (pitch or _linked(c)):
        return Verdict("hold", "money", "Money signs in a row, with a link or a pitch.")
    earnings = _EARNINGS.search(c.body)
    what = f"“{earnings and earnings.group()}” with “{pitch and pitch.group()}”"
    return _when(earnings and pitch, "money", f"Promises earnings: {what}.")


def check_advert(c: Candidate, rules: SpamRules) -> Verdict | None:
    """Sales talk (:data:`ADVERT_PHRASES`, "30% off") with a link: a business advertising."""
    found = re.search(r"(?i)\d\s?% off\b", c.body)
    talk = (found.group() if found else _find(c.body, ADVERT_PHRASES)) if _linked(c) else None
    return _when(talk, "advert", f"Sales talk (“{talk}”) with a link.")


def check_shouting(c: Candidate, rules: SpamRules) -> Verdict | None:
    """Mostly capital letters, with a link: advertising, not debate."""
    letters = [ch.isupper() for ch in c.body if ch.isalpha()]
    loud = len(letters) >= 20 and sum(letters) >= 0.7 * len(letters) and _linked(c)
    return _when(loud, "shouting", "Mostly capital letters, with a link.")


def check_repeats(c: Candidate, rules: SpamRules) -> Verdict | None:
    """A run of more than ``max_repeat`` identical characters ("!!!!!!!!!!!!")."""
    run = re.search(rf"([^\s\-=_*#~`.])\1{{{rules.max_repeat},}}", c.body)
    return _when(run, "repeats", f"{run and len(run.group())} “{run and run.group(1)}” in a row.")


def check_flattery(c: Candidate, rules: SpamRules) -> Verdict | None:
    """Generic praise in a short comment with a link: the praise is the excuse for the link."""
    short = len(c.body.split()) <= 60 and (c.website or count_links(c.body))
    praise = _find(c.body, FLATTERY) if short else None
    return _when(praise, "flattery", f"Generic praise (“{praise}”) in a short comment with a link.")


Check = Callable[[Candidate, SpamRules], Verdict | None]
#: The pipeline: every ``check_*`` function above, in the order of this file.
CHECKS: tuple[Check, ...] = (
    check_blocked_sender,
    check_blocked_words,
    check_markup,
    check_links,
    check_phrases,
    check_disguised,
    check_mixed_script,
    check_contact,
    check_money,
    check_advert,
    check_shouting,
    check_repeats,
    check_flattery,
)


def check(candidate: Candidate, rules: SpamRules | None = None) -> list[Verdict]:
    """Run :data:`CHECKS` in order; the verdicts of the checks that objected."""
    rules = rules or SpamRules()
    return [v for fn in CHECKS if (v := fn(candidate, rules)) is not None]


def decide(verdicts: Iterable[Verdict]) -> Verdict:
    """The strongest verdict (reject > hold > publish), the earliest of equals, or PUBLISH."""
    return max(verdicts, key=lambda v: ACTIONS.index(v.action), default=PUBLISH)
