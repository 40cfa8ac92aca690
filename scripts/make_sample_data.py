"""Write the shipped sample data: contacts/contacts.csv, groups.csv and partners.csv.

Deterministic: one seeded `random.Random`, fixed iteration order, `\\n` line endings, so
re-running produces byte-identical files.

    .venv/bin/python scripts/make_sample_data.py            # writes ./contacts/
    .venv/bin/python scripts/make_sample_data.py --count 50000 --out /tmp/big  # bench data

Nobody in these files is real. Emails use the reserved example domains (RFC 2606);
phone numbers come from Ofcom's ranges reserved for drama (020 7946 0xxx and the
0113/0114/0116/0117/0118/0121/0131/0141/0151/0161 496 0xxx ranges). The mobile drama
range 07700 900xxx is *not* used because libphonenumber rejects it as invalid.

Population shares come from the ONS Census 2021 figures gathered in
`/work/shared/reference/london-census-2021.md`; the README's "Sample data" section says
how each one is derived, and which language shares are assumptions.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import unicodedata
from collections.abc import Sequence
from pathlib import Path

SEED = 2021
DEFAULT_COUNT = 2400
ROOT = Path(__file__).resolve().parent.parent

# --- groups (population shares) ------------------------------------------------------------
# Age: Census 2021 London, 15-64 = 70% and 65+ = 11.9% of all residents; under-15s (18.1%)
# are not the audience of an evening consultation, so the shares are conditioned on 15+:
# 70 / 81.9 = 0.855 and 11.9 / 81.9 = 0.145.
# Birth: 40.6% born outside the UK, so 59.4% UK-born.
# Main language: English 78.4% (census). The other 21.6% is split below; only the total is
# a census figure, the per-language split is this sample's documented assumption.
LANGUAGE_SHARES: dict[str, float] = {
    "en": 0.784,
    "pl": 0.015,
    "ro": 0.015,
    "bn": 0.014,
    "es": 0.013,
    "pt": 0.012,
    "ar": 0.008,
    "ur": 0.008,
    "zh": 0.008,
    "so": 0.005,
    "other": 0.118,
}
LANGUAGE_LABELS = {
    "en": "Main language English",
    "pl": "Main language Polish",
    "ro": "Main language Romanian",
    "bn": "Main language Bengali",
    "es": "Main language Spanish",
    "pt": "Main language Portuguese",
    "ar": "Main language Arabic",
    "ur": "Main language Urdu",
    "zh": "Main language Chinese",
    "so": "Main language Somali",
    "other": "Main language another language not in this campaign",
}
GROUPS: list[tuple[str, str, str, float]] = [
    ("age", "15-64", "Aged 15 to 64", 0.855),
    ("age", "65-plus", "Aged 65 and over", 0.145),
    ("birth", "uk", "Born in the UK", 0.594),
    ("birth", "outside-uk", "Born outside the UK", 0.406),
    *[("language", code, LANGUAGE_LABELS[code], share) for code, share in LANGUAGE_SHARES.items()],
]

# --- contacts: how an organisation's mailing list differs from the population -------------
# A mailing list built by a London charity holds slightly more minority-language contacts
# than the population (community partners brought them in), but older and non-English
# speakers far less often have an email address they agreed to receive mail at, so email
# alone under-reaches them: the structure the follow-up planner must discover.
CONTACT_LANGUAGE_WEIGHTS: dict[str, float] = {
    "en": 0.700,
    "other": 0.100,
    "pl": 0.025,
    "ro": 0.025,
    "es": 0.025,
    "pt": 0.022,
    "bn": 0.030,
    "ar": 0.015,
    "ur": 0.015,
    "so": 0.015,
    "zh": 0.015,
}
OUTSIDE_UK = {"en": 0.20, "other": 0.85}  # campaign languages other than English: 0.90
BOROUGHS: dict[str, Sequence[str]] = {
    "en": ["Hackney", "Lambeth", "Islington", "Croydon", "Barnet", "Bromley", "Lewisham"],
    "other": ["Harrow", "Brent", "Haringey", "Enfield", "Westminster", "Newham"],
    "pl": ["Ealing", "Hammersmith and Fulham", "Hounslow", "Haringey"],
    "ro": ["Brent", "Harrow", "Barnet", "Enfield"],
    "es": ["Lambeth", "Southwark", "Kensington and Chelsea"],
    "pt": ["Lambeth", "Southwark", "Wandsworth"],
    "bn": ["Tower Hamlets", "Newham", "Camden"],
    "ar": ["Westminster", "Kensington and Chelsea", "Ealing"],
    "ur": ["Redbridge", "Newham", "Waltham Forest", "Ealing"],
    "so": ["Tower Hamlets", "Ealing", "Brent", "Southwark"],
    "zh": ["Camden", "Westminster", "Barnet", "Southwark"],
}

# Names: (romanised, native script) pairs; the native form is used for some contacts whose
# language is written in another script, so templates meet real Unicode names.
NAMES: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}


def _same(names: str) -> list[tuple[str, str]]:
    return [(name, name) for name in names.split(",")]


NAMES["en"] = (
    _same(
        "Oliver,Amelia,George,Olivia,Harry,Isla,Jack,Ava,Noah,Mia,Charlie,Grace,Leo,Freya,"
        "Thomas,Sophie,Daniel,Chloe,James,Ruby,Margaret,Patricia,Brian,Maureen,Keith,Sandra,"
        "Kwame,Abena,Chidi,Ngozi,Priya,Arjun,Shanice,Tyrone,Siobhan,Declan"
    ),
    _same(
        "Smith,Jones,Taylor,Brown,Williams,Wilson,Johnson,Davies,Patel,Robinson,Wright,"
        "Thompson,Evans,Walker,White,Roberts,Green,Hall,Wood,Jackson,Clarke,Okafor,Mensah,"
        "Campbell,Shah,Murphy,Hughes,O'Brien,Adeyemi,Francis"
    ),
)
NAMES["other"] = (
    _same(
        "Hiral,Karthik,Ayşe,Élodie,Giorgio,Rūta,Harpreet,Meera,Mehmet,Giulia,Jonas,Amandeep,"
        "Lakshmi,Emre,Chiara,Aurélien,Tigist,Dawit,Ngoc Anh,Farhad"
    ),
    _same(
        "Desai,Subramaniam,Demir,Martin,Bianchi,Kazlauskas,Singh,Iyer,Yılmaz,Russo,"
        "Petrauskas,Kaur,Pillai,Şahin,Ferrari,Dubois,Tesfaye,Bekele,Nguyen,Karimi"
    ),
)
NAMES["es"] = (
    _same("Lucía,María,Carmen,Sofía,Alejandro,Javier,Diego,Valentina,Camila,Andrés,José,Mateo"),
    _same(
        "García,Rodríguez,Martínez,López,Hernández,González,Pérez,Sánchez,Ramírez,Torres,"
        "Flores,Muñoz"
    ),
)
NAMES["pl"] = (
    _same(
        "Łukasz,Katarzyna,Agnieszka,Piotr,Małgorzata,Tomasz,Krzysztof,Joanna,Michał,Zofia,"
        "Wojciech,Ewa"
    ),
    _same("Nowak,Wójcik,Kowalczyk,Mazur,Krawczyk,Zając,Król,Wróbel,Dudek,Pawlak,Sikora,Baran"),
)
NAMES["ro"] = (
    _same("Andrei,Ioana,Mihai,Elena,Alexandru,Maria,Ștefan,Gabriela,Cristian,Ana,Bogdan,Raluca"),
    _same(
        "Popescu,Ionescu,Popa,Dumitru,Stan,Stoica,Gheorghe,Rusu,Munteanu,Constantin,Matei,Șerban"
    ),
)
NAMES["pt"] = (
    _same("João,Maria,Ana,Pedro,Tiago,Beatriz,Inês,Rafael,Gonçalo,Mariana,Lucas,Fernanda"),
    _same(
        "Silva,Santos,Ferreira,Pereira,Oliveira,Costa,Rodrigues,Martins,Gonçalves,Sousa,"
        "Almeida,Ribeiro"
    ),
)
NAMES["so"] = (
    _same("Abdi,Hodan,Faduma,Mohamed,Ayaan,Hamza,Sahra,Ifrah,Abdirahman,Hibo,Yasmin,Liban"),
    _same("Farah,Warsame,Hassan,Abdullahi,Jama,Osman,Nur,Egal,Ali,Aden,Yusuf,Ismail"),
)
NAMES["bn"] = (
    [
        ("Rahim", "রহিম"),
        ("Fatema", "ফাতেমা"),
        ("Nasrin", "নাসরিন"),
        ("Jamal", "জামাল"),
        ("Shahana", "শাহানা"),
        ("Anwar", "আনোয়ার"),
        ("Taslima", "তাসলিমা"),
        ("Mahmud", "মাহমুদ"),
    ],
    [
        ("Uddin", "উদ্দিন"),
        ("Ahmed", "আহমেদ"),
        ("Miah", "মিয়া"),
        ("Rahman", "রহমান"),
        ("Hossain", "হোসেন"),
        ("Chowdhury", "চৌধুরী"),
        ("Begum", "বেগম"),
        ("Islam", "ইসলাম"),
    ],
)
NAMES["ar"] = (
    [
        ("Ahmed", "أحمد"),
        ("Fatima", "فاطمة"),
        ("Omar", "عمر"),
        ("Layla", "ليلى"),
        ("Yusuf", "يوسف"),
        ("Mariam", "مريم"),
        ("Khalid", "خالد"),
        ("Noor", "نور"),
        ("Hassan", "حسن"),
        ("Amira", "أميرة"),
    ],
    [
        ("Haddad", "حداد"),
        ("Mansour", "منصور"),
        ("Khalil", "خليل"),
        ("Saleh", "صالح"),
        ("Nasser", "ناصر"),
        ("Aziz", "عزيز"),
        ("Hamdan", "حمدان"),
        ("Farouk", "فاروق"),
    ],
)
NAMES["ur"] = (
    [
        ("Imran", "عمران"),
        ("Ayesha", "عائشہ"),
        ("Bilal", "بلال"),
        ("Sana", "ثنا"),
        ("Tariq", "طارق"),
        ("Nadia", "نادیہ"),
        ("Usman", "عثمان"),
        ("Rabia", "رابعہ"),
    ],
    [
        ("Khan", "خان"),
        ("Qureshi", "قریشی"),
        ("Malik", "ملک"),
        ("Butt", "بٹ"),
        ("Hussain", "حسین"),
        ("Raza", "رضا"),
        ("Iqbal", "اقبال"),
        ("Mirza", "مرزا"),
    ],
)
NAMES["zh"] = (
    [
        ("Fang", "芳"),
        ("Wei", "伟"),
        ("Min", "敏"),
        ("Jing", "静"),
        ("Lei", "磊"),
        ("Yan", "燕"),
        ("Jun", "军"),
        ("Xiuying", "秀英"),
        ("Hao", "浩"),
        ("Ling", "玲"),
    ],
    [
        ("Wang", "王"),
        ("Li", "李"),
        ("Zhang", "张"),
        ("Liu", "刘"),
        ("Chen", "陈"),
        ("Yang", "杨"),
        ("Huang", "黄"),
        ("Zhao", "赵"),
        ("Wu", "吴"),
        ("Zhou", "周"),
    ],
)
NATIVE_SCRIPT_SHARE = {"bn": 0.3, "ar": 0.4, "ur": 0.3, "zh": 0.5}

EMAIL_DOMAINS = ["example.org", "example.net", "example.com", "mail.example.org"]
# Ofcom drama ranges that libphonenumber accepts as valid (prefix as dialled + 3 digits).
PHONE_RANGES = ["020 7946 0"] + [f"0{area} 496 0" for area in (113, 114, 116, 117, 118, 121)]

# --- partners -----------------------------------------------------------------------------
PARTNERS: list[tuple[str, str, str, str, str, int]] = [
    # partner_id, name, kind, languages, email, reach   (all fictional)
    ("radio-padma", "Radio Padma 1485", "radio", "bn;en", "studio@radiopadma.example.org", 18000),
    (
        "codka-bulshada",
        "Codka Bulshada Community Radio",
        "radio",
        "so;en",
        "desk@codkabulshada.example.net",
        9000,
    ),
    ("radio-wisla", "Radio Wisła Londyn", "radio", "pl", "redakcja@radiowisla.example.org", 12000),
    (
        "radio-sur",
        "Radio Sur Latina y Lusófona",
        "radio",
        "es;pt",
        "hola@radiosur.example.net",
        15000,
    ),
    ("radio-dacia", "Radio Dacia Londra", "radio", "ro", "contact@radiodacia.example.org", 8000),
    (
        "sawt-al-jaliya",
        "Sawt al-Jaliya Community Radio",
        "radio",
        "ar",
        "info@sawt.example.net",
        7000,
    ),
    ("awaaz-fm", "Awaaz FM Southall", "radio", "ur;en", "news@awaazfm.example.org", 11000),
    ("huayu-radio", "Huayu London Chinese Radio", "radio", "zh", "editor@huayu.example.net", 6000),
    (
        "brick-lane-hall",
        "Brick Lane Community Hall",
        "venue",
        "en;bn",
        "bookings@bricklanehall.example.org",
        2500,
    ),
    (
        "larkhall-library",
        "Larkhall Rise Library",
        "venue",
        "en;pt;es",
        "events@larkhall.example.org",
        4000,
    ),
    ("southall-green-centre", "Southall Green Community Centre", "venue", "ur;pl;en", "", 3000),
    (
        "al-noor-mosque",
        "Al-Noor Community Mosque",
        "faith",
        "ar;bn;ur;en",
        "office@alnoor.example.org",
        5000,
    ),
    (
        "st-hedwig-parish",
        "St Hedwig's Polish Parish Club",
        "faith",
        "pl",
        "parafia@sthedwig.example.net",
        1800,
    ),
    (
        "somali-womens-circle",
        "Somali Women's Circle",
        "community",
        "so;en",
        "circle@somaliwomen.example.org",
        600,
    ),
    (
        "romanian-families",
        "Romanian Families Network",
        "community",
        "ro;en",
        "salut@rofamilies.example.net",
        1500,
    ),
    (
        "lusophone-elders",
        "Lusophone Elders Club Stockwell",
        "community",
        "pt",
        "ola@lusoelders.example.org",
        400,
    ),
    (
        "chinatown-lunch-club",
        "Chinatown Elders Lunch Club",
        "community",
        "zh;en",
        "lunch@cel.example.net",
        350,
    ),
    (
        "bethnal-green-pensioners",
        "Bethnal Green Pensioners' Tea Club",
        "community",
        "en",
        "tea@bgpensioners.example.org",
        300,
    ),
    (
        "latin-mothers",
        "Latin American Mothers' Group",
        "community",
        "es;pt",
        "grupo@lamg.example.net",
        500,
    ),
    ("al-qalam-school", "Al-Qalam Saturday School", "school", "ar;en", "", 450),
]


def _ascii(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L").replace("ı", "i").replace("'", "")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum() or ch == " ").replace(" ", "")


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def make_contacts(count: int, seed: int = SEED) -> list[dict[str, str]]:
    rng = random.Random(seed)
    partners_by_language: dict[str, list[str]] = {}
    for partner_id, _name, _kind, languages, _email, _reach in PARTNERS:
        for code in languages.split(";"):
            partners_by_language.setdefault(code, []).append(partner_id)
    # London numbers first; a list longer than the drama ranges reuses numbers (households).
    phones = itertools.cycle(
        [f"{prefix}{n:03d}" for prefix in PHONE_RANGES for n in rng.sample(range(1000), 1000)]
    )
    used_emails: set[str] = set()
    rows: list[dict[str, str]] = []
    for index in range(1, count + 1):
        group_language = _pick(rng, CONTACT_LANGUAGE_WEIGHTS)
        english_main = group_language in ("en", "other")
        older = rng.random() < (0.20 if group_language == "en" else 0.13)
        outside = rng.random() < OUTSIDE_UK.get(group_language, 0.90)
        # Some people whose main language is not English still ask for English mail.
        language = "en" if english_main or rng.random() < 0.12 else group_language

        given_list, family_list = NAMES[group_language]
        given, family = rng.choice(given_list), rng.choice(family_list)
        # Chinese names are written family name first (no space in Chinese script).
        script = 1 if rng.random() < NATIVE_SCRIPT_SHARE.get(group_language, 0.0) else 0
        if group_language == "zh":
            name = family[script] + ("" if script else " ") + given[script]
        else:
            name = f"{given[script]} {family[script]}"

        has_email = rng.random() < (
            0.93 * (0.55 if older else 1.0) * (1.0 if english_main else 0.7)
        )
        email = ""
        if has_email:
            local = f"{_ascii(given[0])}.{_ascii(family[0])}"
            candidate = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
            while candidate in used_emails:
                candidate = f"{local}{rng.randint(2, 999)}@{rng.choice(EMAIL_DOMAINS)}"
            used_emails.add(candidate)
            # People type their addresses in any case; the loader lower-cases them.
            email = candidate if rng.random() > 0.05 else candidate.title()
        has_phone = not has_email or rng.random() < 0.75
        phone = ""
        if has_phone:
            number = next(phones)
            style = rng.random()
            if style < 0.6:
                phone = number
            elif style < 0.85:
                phone = "+44 " + number[1:]
            else:
                phone = number.replace(" ", "")
        consent_rate = 0.93 * (0.75 if older else 1.0) * (1.0 if english_main else 0.8)
        consent = "yes" if has_email and rng.random() < consent_rate else "no"
        if rng.random() < 0.03:
            consent = consent.capitalize()  # "Yes"/"No": accepted in any case

        link_rate = 0.08 if english_main else 0.35
        if older:
            link_rate += 0.15
        options = partners_by_language.get(language if not english_main else "en", [])
        partner_id = rng.choice(options) if options and rng.random() < link_rate else ""

        groups = [f"age:{'65-plus' if older else '15-64'}"]
        if rng.random() > 0.04:  # a few people never said where they were born
            groups.append(f"birth:{'outside-uk' if outside else 'uk'}")
        groups.append(f"language:{group_language}")
        rows.append(
            {
                "contact_id": f"C{index:05d}",
                "name": name,
                "email": email,
                "phone": phone,
                "language": language,
                "groups": ";".join(groups),
                "consent_email": consent,
                "partner_id": partner_id,
                "borough": rng.choice(BOROUGHS[group_language]),
            }
        )
    return rows


def _write(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_sample(out: Path, count: int = DEFAULT_COUNT, seed: int = SEED) -> dict[str, Path]:
    contacts = make_contacts(count, seed)
    header = list(contacts[0])
    files = {
        "contacts": out / "contacts.csv",
        "groups": out / "groups.csv",
        "partners": out / "partners.csv",
    }
    _write(files["contacts"], header, [[row[key] for key in header] for row in contacts])
    _write(files["groups"], ["dimension", "value", "label", "population_share"], GROUPS)
    _write(
        files["partners"], ["partner_id", "name", "kind", "languages", "email", "reach"], PARTNERS
    )
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "contacts")
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    files = write_sample(args.out, args.count, args.seed)
    for path in files.values():
        print(path)


if __name__ == "__main__":
    main()
