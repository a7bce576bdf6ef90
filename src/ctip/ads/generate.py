"""Synthetic online ads with known ground truth, for tests, benchmarks and the demo.

No real ad text or person appears: sentences come from ``data/phrases.yaml``, names and
handles are invented, e-mail domains are the reserved ``example.*`` ones, wallets are random
keys with valid checksums, and every phone number is a fictional ``555`` number.

The generator models what investigators see: *operators* (the ground-truth networks) each
write one or two templates and repost them across a circuit of cities with different names,
ages and prices in the slots; each uses one to three phones, sometimes an e-mail, social
handles, a wallet and a set of reused photos. Contact details are written the ways real ads
write them to dodge search (see ``obfuscate.py``), some numbers are split between title and
body, and ads carry plenty of non-phone numbers (prices, measurements, heights, dates, ZIP
codes, reference numbers) to test precision. Every ad keeps its truth: the phones, e-mails,
handles and wallets written in it, its template and its operator.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from ctip.ads.importer import AD_COLUMNS
from ctip.ads.obfuscate import render_email, render_handle, render_phone
from ctip.ads.wallets import base58check_encode, bech32_encode, eip55, monero_address

CITIES = {
    "Las Vegas, NV": "702", "Phoenix, AZ": "602", "Houston, TX": "713", "Dallas, TX": "214",
    "Atlanta, GA": "404", "Miami, FL": "305", "Orlando, FL": "407", "Chicago, IL": "312",
    "Detroit, MI": "313", "Denver, CO": "303", "Seattle, WA": "206", "Portland, OR": "503",
    "Los Angeles, CA": "213", "San Diego, CA": "619", "Oakland, CA": "510", "Newark, NJ": "973",
    "New York, NY": "212", "Boston, MA": "617", "Philadelphia, PA": "215", "Baltimore, MD": "410",
    "Charlotte, NC": "704", "Nashville, TN": "615", "New Orleans, LA": "504",
    "Minneapolis, MN": "612", "St. Louis, MO": "314", "Kansas City, MO": "816",
    "Columbus, OH": "614", "Indianapolis, IN": "317", "Salt Lake City, UT": "801",
    "Albuquerque, NM": "505", "San Antonio, TX": "210", "Tampa, FL": "813",
    "Sacramento, CA": "916", "Memphis, TN": "901", "Oklahoma City, OK": "405",
    "Toronto, ON": "416", "Vancouver, BC": "604", "Honolulu, HI": "808",
}  # fmt: skip
ESCORT_SITES = (
    "escortboard.example",
    "nightlist.example",
    "datingads.example",
    "vipcompanions.example",
)
JOB_SITES = ("jobsabroad.example", "quickhire.example", "classifieds.example")
BENIGN_SITES = ("classifieds.example", "localboard.example")
KINDS = (("escort", 0.6), ("job", 0.22), ("benign", 0.18))


@dataclass
class Truth:
    operator: str
    template: str
    kind: str
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)
    wallets: list[str] = field(default_factory=list)
    obfuscated_phones: list[str] = field(default_factory=list)


@dataclass
class GeneratedAds:
    ads: list[dict[str, Any]]
    truth: list[Truth]

    def write(self, path: Path) -> Path:
        """Write the ads as JSON Lines (.jsonl), CSV (.csv, images joined by '|') or Parquet."""
        if path.suffix == ".parquet":
            pq.write_table(pa.Table.from_batches([parquet_batch(self.ads)]), path)
        elif path.suffix == ".csv":
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(self.ads[0]))
                writer.writeheader()
                for ad in self.ads:
                    writer.writerow({**ad, "images": "|".join(ad["images"])})
        else:
            with path.open("w", encoding="utf-8") as handle:
                for ad in self.ads:
                    handle.write(json.dumps(ad, ensure_ascii=False) + "\n")
        return path


@dataclass
class _Operator:
    ident: str
    kind: str
    templates: list[list[str]]
    phones: list[str]
    style: str
    names: list[tuple[str, int]]
    cities: list[str]
    sites: tuple[str, ...]
    email: str | None
    handles: list[tuple[str, str]]
    wallet: str | None
    images: list[str]
    start: datetime
    days: int


@cache
def phrases() -> dict[str, Any]:
    text = resources.files("ctip.ads.data").joinpath("phrases.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def fake_phone(rng: random.Random, area: str) -> str:
    """A fictional US number: area code + 555 + four digits, as E.164."""
    return f"+1{area}555{rng.randrange(10_000):04d}"


def fake_wallet(rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.35:
        return base58check_encode(rng.choice((0x00, 0x05)), rng.randbytes(20))
    if choice < 0.55:
        return bech32_encode("bc", 0, rng.randbytes(20))
    if choice < 0.65:
        return bech32_encode("bc", 1, rng.randbytes(32))
    if choice < 0.9:
        return eip55(rng.randbytes(20).hex())
    return monero_address(18, rng.randbytes(32), rng.randbytes(32))


def _template(rng: random.Random, kind: str) -> list[str]:
    data = phrases()
    pools: dict[str, list[str]] = data[kind]
    sections = list(pools)
    parts = data["signature"]
    signature = (
        f"{rng.choice(parts['opener'])}, {rng.choice(parts['adjective'])}"
        f" {rng.choice(parts['noun'])} {rng.choice(parts['closer'])}"
    )
    constants = {
        "item": rng.choice(data["items"]),
        "item2": rng.choice(data["items"]),
        "pet": rng.choice(data["pets"]),
        "street": rng.choice(data["streets"]),
        "employer": rng.choice(data["employers"]),
    }
    chosen = []
    for section in sections:
        optional = section in ("restrictions", "closing", "description", "urgency", "terms")
        if optional and rng.random() < 0.25:
            continue
        chosen.append(rng.choice(pools[section]))
        if section in ("description", "terms") and rng.random() < 0.6:
            chosen.append(rng.choice(pools[section]))
    chosen.insert(rng.randrange(1, len(chosen) + 1), signature)
    # operator constants are fixed in the template; the other slots vary per ad
    return [_fill_constants(sentence, constants) for sentence in chosen]


def _fill_constants(sentence: str, constants: dict[str, str]) -> str:
    for key, value in constants.items():
        sentence = sentence.replace("{" + key + "}", value)
    return sentence


def _operator(rng: random.Random, number: int, kind: str, start: datetime) -> _Operator:
    data = phrases()
    home = rng.choice(list(CITIES))
    cities = [home, *rng.sample(list(CITIES), rng.choice((0, 0, 1, 2, 4)))]
    phone_count = rng.choice((1, 1, 1, 2, 2, 3)) if kind != "benign" else 1
    phones = [fake_phone(rng, CITIES[rng.choice(cities)]) for _ in range(phone_count)]
    names = [
        (rng.choice(data["names"]), rng.choice((18, 19, 20, 21, 22, 23, 24, 25, 27, 29, 31)))
        for _ in range(rng.choice((1, 1, 2, 3, 4)))
    ]
    tag = f"{rng.choice(data['names']).lower()}{rng.randrange(10, 9999)}"
    email = f"{tag}@{rng.choice(('example.com', 'example.net', 'example.org'))}"
    handles = [
        (platform, f"{tag}_{suffix}")
        for platform, suffix in rng.sample(
            [("instagram", "xo"), ("snapchat", "vip"), ("kik", "baby"), ("telegram", "x")],
            rng.choice((0, 0, 1, 2)),
        )
    ]
    style = rng.choices(("plain", "mild", "heavy", "unicode"), weights=(0.55, 0.2, 0.15, 0.1))[0]
    return _Operator(
        ident=f"op{number:06d}",
        kind=kind,
        templates=[_template(rng, kind) for _ in range(rng.choice((1, 1, 2)))],
        phones=phones,
        style=style,
        names=names,
        cities=cities,
        sites=ESCORT_SITES if kind == "escort" else JOB_SITES if kind == "job" else BENIGN_SITES,
        email=email if rng.random() < (0.3 if kind != "benign" else 0.1) else None,
        handles=handles if kind == "escort" else [],
        wallet=fake_wallet(rng) if kind != "benign" and rng.random() < 0.12 else None,
        images=[f"https://img.example.com/{rng.randbytes(8).hex()}.jpg" for _ in range(3)],
        start=start + timedelta(days=rng.randrange(300)),
        days=rng.randrange(3, 90),
    )


def iter_generated(
    count: int, seed: int = 0, *, ads_per_operator: int = 25
) -> Iterator[tuple[dict[str, Any], Truth]]:
    """The ads of ``generate_ads`` one at a time, so a million can be written in batches."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1)
    operators: list[_Operator] = []
    for number in range(max(3, count // ads_per_operator)):
        kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
        operators.append(_operator(rng, number, kind, start))
    weights = [rng.paretovariate(1.5) for _ in operators]
    chosen = rng.choices(range(len(operators)), weights=weights, k=count)
    for index in range(min(count, len(operators))):
        chosen[index] = index  # every operator posts at least once
    for position, operator_index in enumerate(chosen):
        yield _ad(rng, operators[operator_index], position, seed)


def generate_ads(count: int, seed: int = 0, *, ads_per_operator: int = 25) -> GeneratedAds:
    """``count`` ads from ``count // ads_per_operator`` operators (at least three)."""
    ads: list[dict[str, Any]] = []
    truths: list[Truth] = []
    for ad, truth in iter_generated(count, seed, ads_per_operator=ads_per_operator):
        ads.append(ad)
        truths.append(truth)
    return GeneratedAds(ads, truths)


# The columns of a generated Parquet file: typed as the workspace stores them, which is what
# ``ctip import ads`` and the Parquet jobs read.
PARQUET_SCHEMA = pa.schema(AD_COLUMNS)


def parquet_batch(ads: list[dict[str, Any]]) -> pa.RecordBatch:
    """Generated ads as one Arrow batch of ``PARQUET_SCHEMA`` (dates parsed, ages numbers)."""
    return pa.RecordBatch.from_pylist(
        [
            {
                **ad,
                "posted_at": datetime.fromisoformat(ad["posted_at"]),
                "age": int(ad["age"]) if ad["age"] else None,
            }
            for ad in ads
        ],
        schema=PARQUET_SCHEMA,
    )


def write_parquet(
    path: Path,
    count: int,
    seed: int = 0,
    *,
    truth: Path | None = None,
    batch: int = 20_000,
) -> int:
    """Write ``count`` generated ads to one Parquet file, ``batch`` ads per row group.

    Streams, so memory stays flat however many ads (a million take under two minutes on one
    core); the same seed gives the same ads as ``generate_ads`` and the JSON Lines writer.
    Row groups of ``batch`` ads let Spark split even one file across many executors.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    truth_handle = truth.open("w", encoding="utf-8") if truth is not None else None
    written = 0
    try:
        with pq.ParquetWriter(path, PARQUET_SCHEMA, compression="zstd") as writer:
            pending: list[dict[str, Any]] = []
            for ad, item in iter_generated(count, seed):
                pending.append(ad)
                if truth_handle is not None:
                    truth_handle.write(json.dumps({"id": ad["id"], **asdict(item)}) + "\n")
                if len(pending) >= batch:
                    writer.write_batch(parquet_batch(pending))
                    written += len(pending)
                    pending = []
            if pending or written == 0:
                writer.write_batch(parquet_batch(pending))
                written += len(pending)
    finally:
        if truth_handle is not None:
            truth_handle.close()
    return written


def _ad(
    rng: random.Random, operator: _Operator, position: int, seed: int
) -> tuple[dict[str, Any], Truth]:
    data = phrases()
    template_index = rng.randrange(len(operator.templates))
    template = operator.templates[template_index]
    name, age = rng.choice(operator.names)
    city = rng.choice(operator.cities)
    truth = Truth(operator.ident, f"{operator.ident}-t{template_index}", operator.kind)
    phone = rng.choice(operator.phones)
    rendered, obfuscated = render_phone(rng, phone, operator.style)
    truth.phones.append(phone)
    if obfuscated:
        truth.obfuscated_phones.append(phone)
    contact = rendered
    if operator.email and rng.random() < 0.6:
        contact += " or " + render_email(rng, operator.email, operator.style)
        truth.emails.append(operator.email)
    price = rng.choice((80, 100, 120, 150, 160, 180, 200))
    slots = {
        "name": name,
        "age": age + rng.choice((0, 0, 0, 1)),
        "city": city.split(",")[0],
        "price": price,
        "price2": price + rng.choice((50, 80, 100)),
        "price3": rng.choice((60, 70, 80)),
        "contact": contact,
        "desc": rng.choice(data["descriptors"]),
        "hair": rng.choice(data["hair"]),
        "body": rng.choice(data["body"]),
        "country": rng.choice(data["countries"]),
        "wage": rng.choice(("1,500", "2,000", "3,500", "5,000", "900")),
        "fee": rng.choice((150, 250, 300, 500)),
        "measure": f"{rng.choice((32, 34, 36))}{rng.choice('BCD')}-{rng.choice((24, 25, 26))}-{rng.choice((34, 36, 38))}",
        "ref": rng.randrange(100_000, 999_999),
        "hours": rng.choice(("10am-2am", "9am to 5pm", "Mon-Fri 8-6", "noon till late")),
        "zip": f"{rng.randrange(10_000, 99_999)}",
    }
    sentences = [s.format(**slots) for s in template if rng.random() > 0.08 or "{contact}" in s]
    if not any(rendered in s for s in sentences):
        sentences.append(f"Call {contact}")
    extra = _extras(rng, operator, truth)
    body_parts = sentences[1:] + extra
    title = sentences[0]
    if operator.kind == "escort" and rng.random() < 0.5:
        title += " " + rng.choice(("💋", "🔥", "❤️", "✨", "🌹", "😘", ""))
    body = _join(rng, body_parts)
    if rng.random() < 0.05 and phone.startswith("+1") and rendered in body:
        # a number split between title and body, as truncated titles do
        title, body = _split_number(title, body, rendered, phone)
    site = rng.choice(operator.sites)
    posted = operator.start + timedelta(
        days=rng.randrange(operator.days), minutes=rng.randrange(1440)
    )
    ad_id = f"ad-{seed}-{position:07d}"
    slug = city.split(",")[0].lower().replace(" ", "-").replace(".", "")
    ad = {
        "id": ad_id,
        "title": title,
        "body": body,
        "site": site,
        "location": city,
        "posted_at": posted.isoformat(timespec="minutes"),
        "url": f"https://{site}/{slug}/{position + 1000:07d}",
        "age": str(slots["age"]) if operator.kind == "escort" and rng.random() < 0.7 else "",
        "images": rng.sample(operator.images, rng.choice((0, 1, 2))),
    }
    return ad, truth


def _extras(rng: random.Random, operator: _Operator, truth: Truth) -> list[str]:
    extra = []
    for platform, handle in operator.handles:
        if rng.random() < 0.7:
            extra.append(render_handle(rng, platform, handle))
            truth.handles.append(f"{platform}:{handle}")
    if operator.wallet and rng.random() < 0.7:
        extra.append(
            rng.choice(("Deposit to ", "Crypto accepted: ", "Pay deposit ")) + operator.wallet
        )
        truth.wallets.append(operator.wallet)
    # An operator's numbers are drawn at random, so at millions of ads two can coincide.
    others = [p for p in operator.phones if p != truth.phones[0]]
    if others and rng.random() < 0.3:
        other = rng.choice(others)
        rendered, obfuscated = render_phone(rng, other, operator.style)
        extra.append(rng.choice(("Backup line ", "Or try ", "New number ")) + rendered)
        truth.phones.append(other)
        if obfuscated:
            truth.obfuscated_phones.append(other)
    return extra


def _join(rng: random.Random, parts: list[str]) -> str:
    separators = (". ", "! ", " ~ ", "\n", " ✨ ", " 💋 ", ". ", ". ")
    out = parts[0] if parts else ""
    for part in parts[1:]:
        out += rng.choice(separators) + part
    return out


def _split_number(title: str, body: str, rendered: str, phone: str) -> tuple[str, str]:
    area = phone[2:5]
    if not rendered.startswith(area):
        return title, body
    rest = rendered[len(area) :].lstrip("-. ")
    index = body.index(rendered)
    new_body = rest + " " + body[:index] + body[index + len(rendered) :]
    return f"{title} call {area}", new_body.strip()
