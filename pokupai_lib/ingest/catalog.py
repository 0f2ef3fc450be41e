"""A deterministic generator of realistic «Покупай выгодно» products, some carrying banned words.

Small hand-written Russian word lists instead of Faker: the output must be identical for a seed
across machines and library versions, and the ban filter needs control over where words land.
Clean products include near misses (банан, бантом, бандана, банка) so a filter that matches
inside longer words is caught.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from pokupai_lib.errors import InvalidInputError

__all__ = [
    "CATEGORIES",
    "DEFAULT_BANNED_WORDS",
    "Catalog",
    "example_product",
    "generate_catalog",
    "generate_products",
    "write_shop_files",
]

DEFAULT_BANNED_WORDS: tuple[str, ...] = ("бан", "ченсоред", "контрафакт", "фууу")

# The product JSON of DESIGN.md section 6 (the original task's example).
_EXAMPLE: dict[str, Any] = {
    "product_id": "12345", "name": "Умные часы XYZ",
    "description": "Умные часы с функцией мониторинга здоровья, GPS и уведомлениями.",
    "price": {"amount": 4999.99, "currency": "RUB"}, "category": "Электроника", "brand": "XYZ",
    "stock": {"available": 150, "reserved": 20}, "sku": "XYZ-12345",
    "tags": ["умные часы", "гаджеты", "технологии"],
    "images": [{"url": "https://example.com/images/product1.jpg",
                "alt": "Умные часы XYZ - вид спереди"}],
    "specifications": {"weight": "50g", "dimensions": "42mm x 36mm x 10mm",
                       "battery_life": "24 hours", "water_resistance": "IP68"},
    "created_at": "2023-10-01T12:00:00Z", "updated_at": "2023-10-10T15:30:00Z",
    "index": "products", "store_id": "store_001",
}


def example_product() -> dict[str, Any]:
    """A fresh copy of the design's example product («Умные часы XYZ», id 12345)."""
    return copy.deepcopy(_EXAMPLE)


@dataclass(frozen=True)
class _Kind:
    name: str
    low: int  # price range in RUB
    high: int
    tags: tuple[str, ...]


@dataclass(frozen=True)
class _Category:
    code: str  # SKU prefix
    kinds: tuple[_Kind, ...]
    brands: tuple[str, ...]
    name_format: str  # fields: kind, brand, extra
    extras: tuple[str, ...]
    features: tuple[str, ...]
    specs: Mapping[str, tuple[str, ...]]


_COLORS = ("черный", "белый", "серый", "синий", "зеленый", "бежевый")
_CATEGORIES: dict[str, _Category] = {
    "Электроника": _Category("ELC", (
        _Kind("Умные часы", 3000, 25000, ("умные часы", "гаджеты", "технологии")),
        _Kind("Беспроводные наушники", 1500, 20000, ("наушники", "аудио")),
        _Kind("Смартфон", 8000, 90000, ("смартфоны", "связь")),
        _Kind("Портативная колонка", 1500, 15000, ("колонки", "аудио")),
        _Kind("Планшет", 9000, 60000, ("планшеты", "гаджеты")),
        _Kind("Фитнес-браслет", 1000, 6000, ("фитнес", "гаджеты"))),
        ("XYZ", "Техновзор", "Квант", "Орбита", "Nexa", "Вектор"),
        "{kind} {brand}{extra}", ("", " Pro", " Lite", " 2", " Max", " X5", " Mini"),
        ("мониторинг здоровья", "GPS", "уведомления", "быстрая зарядка",
         "активное шумоподавление", "защита от воды", "Bluetooth 5.3", "яркий AMOLED-экран"),
        {"weight": ("45 г", "180 г", "350 г", "1,2 кг"),
         "dimensions": ("42 x 36 x 10 мм", "160 x 75 x 8 мм", "250 x 170 x 7 мм"),
         "battery_life": ("10 часов", "24 часа", "3 дня", "7 дней"),
         "water_resistance": ("IP54", "IP67", "IP68", "нет"), "color": _COLORS}),
    "Красота": _Category("BTY", (
        _Kind("Крем для лица", 300, 3000, ("уход за кожей", "косметика")),
        _Kind("Шампунь", 200, 1500, ("уход за волосами", "косметика")),
        _Kind("Тушь для ресниц", 250, 1800, ("макияж", "косметика")),
        _Kind("Крем для рук", 150, 900, ("уход за кожей",)),
        _Kind("Парфюмерная вода", 1500, 12000, ("ароматы", "парфюмерия")),
        _Kind("Заколка с бантом", 100, 600, ("аксессуары для волос",))),
        ("Ласка", "Северная роса", "Лепесток", "Aurora", "Травы Алтая", "Bellissima"),
        "{kind} {brand}{extra}", ("", " Classic", " Nature", " Sensitive"),
        ("гиалуроновая кислота", "натуральные масла", "аромат банана", "без парабенов",
         "витамин E", "легкая текстура", "SPF 30"),
        {"volume": ("30 мл", "50 мл", "100 мл", "250 мл"),
         "skin_type": ("для всех типов кожи", "для сухой кожи", "для жирной кожи"),
         "country": ("Россия", "Франция", "Корея", "Италия"),
         "shelf_life": ("12 месяцев", "24 месяца", "36 месяцев")}),
    "Бытовая техника": _Category("APL", (
        _Kind("Пылесос", 4000, 40000, ("уборка", "техника для дома")),
        _Kind("Микроволновая печь", 5000, 20000, ("кухня", "техника для дома")),
        _Kind("Электрический чайник", 1200, 7000, ("кухня", "чайники")),
        _Kind("Стиральная машина", 20000, 70000, ("стирка", "крупная техника")),
        _Kind("Утюг", 1500, 9000, ("глажка", "уход за одеждой")),
        _Kind("Кофеварка", 3000, 35000, ("кухня", "кофе"))),
        ("Домовой", "Теплотех", "Уютный дом", "Hausmann", "Электра", "Волжанка"),
        "{kind} {brand}{extra}", ("", " 1000", " Comfort", " Eco", " Turbo", " 3000"),
        ("низкий уровень шума", "энергосбережение", "автоматическое отключение",
         "защита от перегрева", "сенсорное управление", "таймер"),
        {"power": ("800 Вт", "1500 Вт", "2000 Вт", "2200 Вт"),
         "weight": ("1,1 кг", "3,5 кг", "6 кг", "60 кг"), "energy_class": ("A", "A+", "A++"),
         "warranty": ("1 год", "2 года", "3 года"), "color": _COLORS}),
    "Одежда": _Category("CLO", (
        _Kind("Куртка демисезонная", 3000, 15000, ("верхняя одежда", "куртки")),
        _Kind("Футболка хлопковая", 500, 2500, ("футболки", "базовый гардероб")),
        _Kind("Джинсы прямые", 1500, 6000, ("джинсы", "деним")),
        _Kind("Платье летнее", 1500, 7000, ("платья", "лето")),
        _Kind("Свитер шерстяной", 2000, 8000, ("трикотаж", "зима")),
        _Kind("Бандана", 200, 800, ("аксессуары", "головные уборы"))),
        ("Северный стиль", "Nordway", "Городская мода", "Лён и хлопок", "UrbanFox", "Сибирячка"),
        "{kind} {brand}{extra}", ("",),
        ("дышащая ткань", "удобная посадка", "водоотталкивающая пропитка",
         "натуральные материалы", "машинная стирка", "светоотражающие элементы"),
        {"size": ("XS", "S", "M", "L", "XL", "XXL"),
         "material": ("хлопок", "полиэстер", "шерсть", "лен", "деним"), "color": _COLORS,
         "season": ("лето", "демисезон", "зима", "всесезон")}),
    "Книги": _Category("BOK", (
        _Kind("Роман", 300, 1500, ("художественная литература", "романы")),
        _Kind("Детектив", 250, 1200, ("детективы",)),
        _Kind("Фантастика", 300, 1400, ("фантастика", "фэнтези")),
        _Kind("Сборник стихов", 200, 900, ("поэзия",)),
        _Kind("Повесть", 200, 900, ("художественная литература",)),
        _Kind("Сказки", 300, 1600, ("детские книги", "сказки"))),
        ("Северное слово", "Книжный двор", "Азбука-Пресс", "Литера", "Парус"),
        "{kind}{extra}",
        (" «Тихий берег»", " «Последний поезд»", " «Город у реки»", " «Звёзды над тайгой»",
         " «Код без ошибок»", " «Белые ночи»", " «Дом на краю леса»"),
        ("твердый переплет", "иллюстрации", "закладка-ляссе", "крупный шрифт",
         "бестселлер года", "новый перевод"),
        {"author": ("Анна Северова", "Иван Громов", "Мария Лесная", "Пётр Ветров"),
         "pages": ("224", "320", "416", "608"), "year": ("2019", "2021", "2023", "2024"),
         "cover": ("твердая", "мягкая"), "language": ("русский",)}),
    "Дом и сад": _Category("HOM", (
        _Kind("Набор садовых инструментов", 800, 6000, ("сад", "инструменты")),
        _Kind("Банка для сыпучих продуктов", 150, 900, ("кухня", "хранение")),
        _Kind("Плед флисовый", 700, 3500, ("текстиль", "уют")),
        _Kind("Садовый шланг", 500, 4000, ("сад", "полив")),
        _Kind("Настольная лампа", 900, 6000, ("освещение",)),
        _Kind("Набор кастрюль", 2000, 15000, ("посуда", "кухня"))),
        ("Дача и дом", "Зеленый сад", "Уют", "GardenPro", "Хозяюшка", "Лесная поляна"),
        "{kind} {brand}{extra}", ("", " Classic", " Premium"),
        ("прочные материалы", "удобная ручка", "экологичный материал", "компактное хранение",
         "устойчивость к влаге", "долгий срок службы"),
        {"material": ("сталь", "пластик", "дерево", "стекло", "флис"),
         "dimensions": ("20 x 10 x 10 см", "150 x 200 см", "30 м"),
         "weight": ("0,3 кг", "1,5 кг", "2,8 кг"), "color": _COLORS}),
}
CATEGORIES: tuple[str, ...] = tuple(_CATEGORIES)

_CLOSINGS = ("Доставка по всей России.", "Гарантия качества от продавца.",
             "Отличный выбор для подарка.", "Товар в наличии на складе.",
             "Выгодная цена только в «Покупай выгодно».")
_EXTRA_TAGS = ("новинка", "хит продаж", "скидки", "выбор покупателей")
_VIEWS = ("вид спереди", "вид сбоку", "вид сзади", "в упаковке")
_EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
_TWO_YEARS_S = 730 * 86400
_SIXTY_DAYS_S = 60 * 86400
_CASES: tuple[Callable[[str], str], ...] = (str.lower, str.upper, str.capitalize)
_WRAPPERS = ("{}", "«{}»", '"{}"', "({})", "{}!", "{},", "{}.", "{}?!", "[{}]", "*{}*",
             "{}…", "{}:", "—{}—")
_BANNED_FIELDS = ("name", "description", "brand", "tags", "specifications")
_STORE_ID = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Catalog:
    """Generated products plus which of them carry a banned word (never marked in a product)."""

    products: list[dict[str, Any]]
    banned_ids: set[str] = field(default_factory=set)
    banned_fields: dict[str, str] = field(default_factory=dict)  # product_id -> field used


def generate_catalog(
    count: int,
    seed: int = 42,
    banned_share: float = 0.1,
    banned_words: Sequence[str] = DEFAULT_BANNED_WORDS,
    *,
    stores: int = 3,
    first_id: int = 100_001,
) -> Catalog:
    """Generate ``count`` valid products, the same ones for the same arguments.

    Args:
        count: how many products; ids are ``first_id``, ``first_id + 1``, ... as strings.
        seed: seed of the private ``random.Random``; the global generator is not touched.
        banned_share: the fraction (0..1) of products, rounded, that get one banned word, in a
            random field (name, description, brand, a tag or a specification value), a random
            case, ё for е or back, and punctuation around it, always as a whole word.
        banned_words: the words (or phrases) to plant.
        stores: products are spread round-robin over ``store_001`` .. ``store_NNN``.
        first_id: the first product id (tests use their own range, apart from the notebooks').

    Returns:
        A ``Catalog``: ``products`` plus ``banned_ids`` and ``banned_fields``.

    Raises:
        InvalidInputError: a negative count, a share outside 0..1, fewer than one store, no banned
            words while the share is positive, or a banned word that the generator's own
            vocabulary contains (``banned_ids`` would then be wrong).
    """
    if count < 0 or not 0 <= banned_share <= 1 or stores < 1:
        raise InvalidInputError(f"need count >= 0, 0 <= banned_share <= 1, stores >= 1; got "
                                f"count={count}, banned_share={banned_share}, stores={stores}")
    planted = round(count * banned_share)
    if planted:
        _check_banned_words(banned_words)
    rng = Random(seed)  # noqa: S311 - sample data, not security
    chosen = set(rng.sample(range(count), planted))
    products: list[dict[str, Any]] = []
    banned_fields: dict[str, str] = {}
    for number in range(count):
        product = _product(rng, first_id + number, f"store_{number % stores + 1:03d}")
        if number in chosen:
            banned_fields[product["product_id"]] = _plant(rng, product, banned_words)
        products.append(product)
    return Catalog(products, set(banned_fields), banned_fields)


def generate_products(
    count: int,
    seed: int = 42,
    banned_share: float = 0.1,
    banned_words: Sequence[str] = DEFAULT_BANNED_WORDS,
    *,
    stores: int = 3,
    first_id: int = 100_001,
) -> list[dict[str, Any]]:
    """Return just the products of ``generate_catalog`` with the same arguments."""
    return generate_catalog(count, seed, banned_share, banned_words, stores=stores,
                            first_id=first_id).products


def write_shop_files(products: Iterable[Mapping[str, Any]], directory: Path) -> list[Path]:
    """Write products as JSON Lines, one ``<store_id>.jsonl`` per shop, the way shops publish.

    Each line is one product (UTF-8, Cyrillic unescaped), in input order within a shop, so a
    publisher can report a bad record by file and line number. Existing files are replaced.

    Args:
        products: products with a ``store_id``.
        directory: where to write; created when missing.

    Returns:
        The written files, sorted by name.

    Raises:
        InvalidInputError: a ``store_id`` that is not a safe file name (letters, digits,
            ``_``, ``-``).
    """
    by_store: dict[str, list[str]] = {}
    for product in products:
        store_id = str(product.get("store_id", ""))
        if not _STORE_ID.fullmatch(store_id):
            raise InvalidInputError(f"product {product.get('product_id')!r} has store_id "
                                    f"{store_id!r}, which cannot name a file")
        by_store.setdefault(store_id, []).append(json.dumps(product, ensure_ascii=False))
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for store_id in sorted(by_store):
        path = directory / f"{store_id}.jsonl"
        path.write_text("".join(line + "\n" for line in by_store[store_id]), encoding="utf-8")
        paths.append(path)
    return paths


def _product(rng: Random, number: int, store_id: str) -> dict[str, Any]:
    category = rng.choice(CATEGORIES)
    spec = _CATEGORIES[category]
    kind, brand = rng.choice(spec.kinds), rng.choice(spec.brands)
    name = spec.name_format.format(kind=kind.name, brand=brand, extra=rng.choice(spec.extras))
    first, second, third = rng.sample(spec.features, 3)
    product_id = str(number)
    created = _EPOCH + timedelta(seconds=rng.randrange(_TWO_YEARS_S))
    updated = created + timedelta(seconds=rng.randrange(_SIXTY_DAYS_S))
    available = rng.randint(0, 500)
    tags = [*kind.tags, category.lower()]
    if rng.random() < 0.3:
        tags.append(rng.choice(_EXTRA_TAGS))
    keys = rng.sample(list(spec.specs), min(len(spec.specs), rng.randint(3, 4)))
    images = [
        {"url": f"https://example.com/images/{product_id}{'' if n == 0 else f'_{n + 1}'}.jpg",
         "alt": f"{name} - {view}"}
        for n, view in enumerate(rng.sample(_VIEWS, rng.randint(1, 3)))
    ]
    return {
        "product_id": product_id,
        "name": name,
        "description": f"{name}: {first}, {second} и {third}. {rng.choice(_CLOSINGS)}",
        "price": {"amount": round(rng.randint(kind.low // 10, kind.high // 10) * 10 - 0.01, 2),
                  "currency": "RUB"},
        "category": category,
        "brand": brand,
        "stock": {"available": available, "reserved": rng.randint(0, min(available, 50))},
        "sku": f"{spec.code}-{10_001 + number}",
        "tags": tags,
        "images": images,
        "specifications": {key: rng.choice(spec.specs[key]) for key in keys},
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "index": "products",
        "store_id": store_id,
    }


def _plant(rng: Random, product: dict[str, Any], words: Sequence[str]) -> str:
    """Put one banned word, disguised, into a random text field; return the field's name."""
    token = rng.choice(_WRAPPERS).format(_disguise(rng, rng.choice(words)))
    where = rng.choice(_BANNED_FIELDS)
    if where in ("name", "description"):
        product[where] = _insert(rng, product[where], token)
    elif where == "brand":
        product["brand"] = rng.choice((token, f"{token} {product['brand']}"))
    elif where == "tags":
        product["tags"].insert(rng.randint(0, len(product["tags"])), token)
    else:
        key = rng.choice(sorted(product["specifications"]))
        product["specifications"][key] = _insert(rng, product["specifications"][key], token)
    return where


def _disguise(rng: Random, word: str) -> str:
    """Swap some е and ё, then change the case: the filter must normalize both."""
    if rng.random() < 0.5:
        swap = {"е": "ё", "ё": "е", "Е": "Ё", "Ё": "Е"}
        word = "".join(swap[c] if c in swap and rng.random() < 0.7 else c for c in word)
    return rng.choice(_CASES)(word)


def _insert(rng: Random, text: str, token: str) -> str:
    """Insert ``token`` between two words of ``text`` (spaces keep it a whole word)."""
    words = text.split(" ")
    words.insert(rng.randint(0, len(words)), token)
    return " ".join(words)


def _normalize(text: str) -> str:
    return text.casefold().replace("ё", "е")


def _check_banned_words(words: Sequence[str]) -> None:
    """Refuse words that are empty or already part of the vocabulary of clean products."""
    if not words or any(not word.strip() for word in words):
        raise InvalidInputError(f"banned_words must be non-empty words, got {list(words)!r}")
    vocabulary = _normalize(" | ".join(
        [*CATEGORIES, *_CLOSINGS, *_EXTRA_TAGS, *_VIEWS]
        + [text for spec in _CATEGORIES.values() for text in (
            *spec.brands, *spec.extras, *spec.features,
            *(kind.name for kind in spec.kinds), *(tag for kind in spec.kinds for tag in kind.tags),
            *(value for values in spec.specs.values() for value in values))]))
    for word in words:
        if re.search(rf"(?<!\w){re.escape(_normalize(word))}(?!\w)", vocabulary):
            raise InvalidInputError(f"banned word {word!r} occurs in the generator's own "
                                    "vocabulary, so clean products would carry it too; "
                                    "choose another word")
