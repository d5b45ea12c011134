"""Shaoxing's market entities: their history before the first day, and their daily life after it.

Sizing at scale 1.0 follows domain.md: ~0.8 M live entities (36 % enterprises and cooperatives, 64 %
individual businesses), ~115 k new and ~80 k deregistered a year. Births grow 5 % a year; lifetimes are
exponential (mean 12 years for enterprises, 8.5 for individual businesses), which gives both the stock and
the deregistration rate. Entities that died more than ``HISTORY_YEARS`` before the first day are not
materialised: they weigh on no statistic the platform computes.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shaoxing_ops.catalog import Catalog, Table
from shaoxing_ops.domain.geography import BY_CODE, DISTRICTS, LEGACY_CODES
from shaoxing_ops.domain.identifiers import make_credit_code, make_id_number, make_old_credit_code, make_regno
from shaoxing_ops.domain.industry import CLASS_CODES

from . import names
from .randomness import Weighted, date_between, make_key, office_time, poisson, record_id, stream
from .store import DayBuffer, Row

LIVE_TARGET = 800_000
ENTERPRISE_SHARE = 0.36
GROWTH = 0.05
LIFETIME = {"ent": 12.0, "pb": 8.5}
HISTORY_YEARS = 6
BIRTH_YEARS = 30
CREDIT_CODE_SINCE = dt.date(2015, 10, 1)
KEQIAO = "330603"

ENT_TYPES = Weighted(
    [
        ("1130", 45),
        ("1151", 18),
        ("1150", 5),
        ("1190", 3),
        ("1110", 0.5),
        ("1140", 0.5),
        ("1220", 1.2),
        ("1210", 0.1),
        ("2100", 7),
        ("2200", 0.5),
        ("3100", 0.4),
        ("3200", 0.6),
        ("3400", 0.5),
        ("4531", 1.5),
        ("4533", 2.5),
        ("4540", 3),
        ("5110", 0.8),
        ("5150", 0.7),
        ("6110", 0.5),
        ("6150", 0.5),
        ("7200", 0.2),
        ("9100", 2.8),
    ]
)
ENT_INDUSTRY = Weighted(
    [
        ("F", 38),
        ("C", 20),
        ("L", 8),
        ("M", 6),
        ("E", 5),
        ("I", 4),
        ("H", 3),
        ("G", 3),
        ("K", 2),
        ("O", 2),
        ("A", 2),
        ("R", 1.5),
        ("J", 0.8),
        ("N", 0.7),
        ("P", 0.7),
        ("Q", 0.5),
        ("D", 0.3),
        ("S", 0.2),
        ("B", 0.1),
    ]
)
PB_INDUSTRY = Weighted(
    [
        ("F", 55),
        ("H", 14),
        ("O", 13),
        ("C", 6),
        ("G", 4),
        ("R", 1.5),
        ("A", 1),
        ("M", 1),
        ("E", 1),
        ("L", 1),
        ("I", 0.5),
        ("P", 0.5),
        ("Q", 0.5),
        ("K", 0.2),
        ("N", 0.2),
    ]
)
DISTRICT = Weighted([(d.code, d.share) for d in DISTRICTS if d.share] + [("330600", 0.02)])
CANCEL_REASON = Weighted([("20", 55), ("90", 15), ("10", 10), ("50", 10), ("70", 3), ("40", 2), ("30", 1)])
ALTER_ITEMS = {  # item code -> changes per day at scale 1.0
    "01": 25,
    "02": 60,
    "03": 40,
    "04": 30,
    "05": 50,
    "06": 5,
    "07": 35,
    "08": 30,
    "09": 15,
    "10": 3,
    "99": 20,
}
ALTER_WEIGHTS = Weighted(list(ALTER_ITEMS.items()))
POSITION_CN = {
    "410A": "董事长",
    "410B": "副董事长",
    "410C": "董事",
    "410Z": "执行董事",
    "430A": "经理",
    "408A": "监事会主席",
    "408B": "监事",
    "434Q": "财务负责人",
    "499A": "负责人",
}


def authority(code: str, on: dt.date) -> str:
    """Registration authorities were 工商行政管理局 until the 2018 reform."""
    if code == "330621":
        return "绍兴县工商行政管理局"
    base = "绍兴市" if code == "330600" else BY_CODE[code].name
    return f"{base}{'工商行政管理局' if on < dt.date(2018, 3, 1) else '市场监督管理局'}"


def live_per_birth_rate(life: float) -> float:
    """Live entities at the first day per entity born a year at that time (sum over birth cohorts)."""
    return sum(math.exp(-GROWTH * a) * math.exp(-(a + 0.5) / life) for a in range(BIRTH_YEARS))


@dataclass
class Counters:
    """Running numbers per key space, saved with the simulator state so extensions continue them."""

    values: dict[str, int]

    def next(self, space: str) -> int:
        self.values[space] = self.values.get(space, 0) + 1
        return self.values[space]

    def get(self, space: str) -> int:
        return self.values.get(space, 0)


class Population:
    """Writes entity rows into a day buffer; all randomness comes from the ``rng`` passed per event."""

    def __init__(
        self, catalog: Catalog, seed: int, scale: float, counters: Counters, buffer: DayBuffer
    ) -> None:
        self.seed, self.scale, self.counters, self.buffer = seed, scale, counters, buffer
        t = catalog.table
        self.ent, self.pb, self.person, self.inv = (
            t("E_BASEINFO"),
            t("E_PB_BASEINFO"),
            t("E_PRI_PERSON"),
            t("E_INV_INVESTMENT"),
        )
        self.alters, self.cancel, self.revoke = t("E_ALTER_RECODER"), t("E_CANCEL"), t("E_REVOKE")
        self.hst_rep, self.hst_name, self.name_info = t("E_LP_HSTLEREF"), t("E_LP_HSTNAME"), t("E_NAME_INFO")
        self.regstate = catalog.codesets["REGSTATE"].codes
        self.enttype = catalog.codesets["ENTTYPE"].codes
        self.altitem = catalog.codesets["ALTITEM"].codes
        self.canrea = catalog.codesets["CANREA"].codes
        self.ts: dt.datetime = dt.datetime(2000, 1, 1)
        self.chosen_today: set[str] = set()

    # -- rows -------------------------------------------------------------------------------------------
    def key(self, space: str) -> str:
        return make_key(self.seed, space, self.counters.next(space))

    def emit(self, table: Table, rng: random.Random, row: Row, op: str = "I") -> Row:
        row = {c: row.get(c) for c in table.column_names}
        row["dsc_biz_record_id"] = record_id(rng)
        row["dsc_biz_operation"] = op
        row["dsc_biz_timestamp"] = self.ts
        self.buffer.put(table, row)
        return row

    def change(self, table: Table, rng: random.Random, row: Row, op: str = "U", **values: Any) -> Row:
        return self.emit(table, rng, {**row, **values}, op)

    # -- births ---------------------------------------------------------------------------------------
    def new_entity(self, rng: random.Random, kind: str, estdate: dt.date) -> Row:
        district = DISTRICT.pick(rng)
        regorg = district
        if district == KEQIAO and estdate < dt.date(2013, 10, 1) and rng.random() < 0.6:
            regorg = "330621"  # records of the former 绍兴县 never migrated
        return (
            self._new_enterprise(rng, district, regorg, estdate)
            if kind == "ent"
            else self._new_pb(rng, district, regorg, estdate)
        )

    def _codes(self, rng: random.Random, regorg: str, estdate: dt.date, kind: str) -> tuple[str, str]:
        regno = make_regno(regorg, rng.randrange(10**8))
        if estdate < CREDIT_CODE_SINCE:
            return make_old_credit_code(rng, regorg, kind), regno
        return make_credit_code(rng, regorg, kind), regno

    def _new_enterprise(self, rng: random.Random, district: str, regorg: str, estdate: dt.date) -> Row:
        enttype = ENT_TYPES.pick(rng)
        industry = "A" if enttype == "9100" and rng.random() < 0.85 else ENT_INDUSTRY.pick(rng)
        if enttype == "7200":
            industry = "L"
        uniscid, regno = self._codes(rng, regorg, estdate, "3" if enttype == "9100" else "1")
        pripid = self.key("E_BASEINFO")
        legal = names.person_name(rng)
        cap = Decimal(rng.choice([10, 30, 50, 100, 200, 500, 1000, 3000, 5000])) * Decimal(
            rng.choice([1, 1, 1, 2])
        )
        row = self.emit(
            self.ent,
            rng,
            {
                "pripid": pripid,
                "uniscid": uniscid,
                "regno": regno,
                "entname": names.enterprise_name(rng, district, industry, enttype),
                "enttype": enttype,
                "enttype_cn": self.enttype[enttype],
                "industryphy": industry,
                "industryco": rng.choice(CLASS_CODES[industry]),
                "estdate": estdate,
                "apprdate": estdate,
                "regorg": regorg,
                "regorg_cn": authority(regorg, estdate),
                "localadm": f"{LEGACY_CODES.get(regorg, regorg)}{rng.randint(1, 12):02d}",
                "regstate": "1",
                "regstate_cn": self.regstate["1"],
                "domdistrict": district,
                "dom": names.address(rng, district),
                "postalcode": f"3120{rng.randint(0, 99):02d}",
                "opscope": names.SCOPES[industry],
                "opfrom": estdate,
                "opto": None
                if rng.random() < 0.7
                else estdate.replace(year=estdate.year + 20, day=min(estdate.day, 28)),
                "regcap": cap,
                "regcapcur": "156"
                if not enttype.startswith(("5", "6"))
                else rng.choice(["840", "344", "156"]),
                "name": legal,
                "tel": names.phone(rng),
                "empnum": int(rng.expovariate(1 / 12)) + 1,
            },
        )
        self._persons(rng, row, legal, estdate)
        if not enttype.startswith(("2", "7")):
            self._investors(rng, row, legal, cap, estdate)
        self.emit(
            self.name_info,
            rng,
            {
                "nameid": self.key("E_NAME_INFO"),
                "pripid": pripid,
                "entname": row["entname"],
                "namedistrict": "绍兴市" if row["entname"].startswith("绍兴") else "浙江省",
                "enttra": row["entname"][2:4],
                "nameind": names.INDUSTRY_WORDS[industry][0],
                "orgform": "有限公司" if enttype.startswith("1") else self.enttype[enttype][:10],
                "apprno": f"企业名称自主申报〔{estdate.year}〕第{rng.randrange(10**6):06d}号",
                "apprauth": authority(regorg, estdate),
                "apprdate": estdate - dt.timedelta(days=rng.randint(1, 20)),
            },
        )
        return row

    def _new_pb(self, rng: random.Random, district: str, regorg: str, estdate: dt.date) -> Row:
        industry = PB_INDUSTRY.pick(rng)
        uniscid, regno = self._codes(rng, regorg, estdate, "2")
        male = rng.random() < 0.55
        born = names.birth_date(rng, estdate)
        return self.emit(
            self.pb,
            rng,
            {
                "pripid": self.key("E_PB_BASEINFO"),
                "uniscid": uniscid,
                "regno": regno,
                "traname": names.shop_name(rng, district, industry),
                # Older records from the previous system carry 9999; newer ones 9600 (domain.md: unsettled).
                "enttype": "9999" if estdate < dt.date(2016, 1, 1) and rng.random() < 0.3 else "9600",
                "compform": "2" if rng.random() < 0.15 else "1",
                "empnum": rng.randint(1, 6),
                "fundam": Decimal(rng.choice([1, 2, 3, 5, 10, 20, 50])),
                "industryphy": industry,
                "industryco": rng.choice(CLASS_CODES[industry]),
                "estdate": estdate,
                "apprdate": estdate,
                "regorg": regorg,
                "localadm": f"{LEGACY_CODES.get(regorg, regorg)}{rng.randint(1, 12):02d}",
                "regstate": "1",
                "oplocdistrict": district,
                "oploc": names.address(rng, district),
                "opscope": names.SCOPES[industry],
                "name": names.person_name(rng),
                "cerno": make_id_number(rng, rng.choice(names.ID_AREAS), born, male),
                "tel": names.mobile(rng),
            },
        )

    def _person(
        self, rng: random.Random, pripid: str, name: str, position: str, lerep: bool, on: dt.date
    ) -> Row:
        male = rng.random() < 0.7
        return self.emit(
            self.person,
            rng,
            {
                "personid": self.key("E_PRI_PERSON"),
                "pripid": pripid,
                "name": name,
                "sex": "1" if male else "2",
                "natdate": (born := names.birth_date(rng, on)),
                "certype": "10",
                "cerno": make_id_number(rng, rng.choice(names.ID_AREAS), born, male),
                "position": position,
                "position_cn": POSITION_CN[position],
                "lerepsign": "1" if lerep else "0",
                "country": "156",
                "mobtel": names.mobile(rng),
            },
        )

    def _persons(self, rng: random.Random, ent: Row, legal: str, on: dt.date) -> None:
        enttype, pripid = ent["enttype"], ent["pripid"]
        if enttype.startswith(("2", "4", "7", "9")):
            self._person(rng, pripid, legal, "499A", True, on)
            return
        if enttype.startswith("12"):
            self._person(rng, pripid, legal, "410A", True, on)
            for _ in range(rng.randint(2, 4)):
                self._person(rng, pripid, names.person_name(rng), "410C", False, on)
            self._person(rng, pripid, names.person_name(rng), "408A", False, on)
        else:
            self._person(rng, pripid, legal, "410Z", True, on)
            self._person(rng, pripid, names.person_name(rng), "408B", False, on)
        if rng.random() < 0.5:
            self._person(rng, pripid, names.person_name(rng), "430A", False, on)

    def _investor(
        self, rng: random.Random, pripid: str, name: str | None, amount: Decimal, prop: Decimal, on: dt.date
    ) -> Row:
        natural = name is not None or rng.random() < 0.8
        male = rng.random() < 0.7
        row: Row = {
            "invid": self.key("E_INV_INVESTMENT"),
            "pripid": pripid,
            "subconam": amount,
            "subconprop": prop,
            "conform": "1" if rng.random() < 0.92 else rng.choice("2345"),
            "condate": on.replace(year=on.year + rng.choice([5, 10, 20, 30]), day=min(on.day, 28)),
            "acconam": amount if rng.random() < 0.3 else Decimal(0),
            "currency": "156",
            "country": "156",
            "exeaffsign": "0",
        }
        if natural:
            row.update(
                inv=name or names.person_name(rng),
                invtype="2",
                certype="10",
                cerno=make_id_number(rng, rng.choice(names.ID_AREAS), names.birth_date(rng, on), male),
            )
        else:
            district = DISTRICT.pick(rng)
            row.update(
                inv=names.enterprise_name(rng, district, ENT_INDUSTRY.pick(rng), "1130"),
                invtype="1",
                blictype="10",
                blicno=make_credit_code(rng, district),
            )
        return self.emit(self.inv, rng, row)

    def _investors(self, rng: random.Random, ent: Row, legal: str, cap: Decimal, on: dt.date) -> None:
        n = 1 if ent["enttype"] in ("1150", "1151", "1110", "4540") else rng.choice([1, 2, 2, 3, 4])
        shares = [Decimal(rng.randint(1, 9)) for _ in range(n)]
        total = sum(shares)
        for i, share in enumerate(shares):
            prop = (share * 100 / total).quantize(Decimal("0.0001"))
            self._investor(
                rng,
                ent["pripid"],
                legal if i == 0 else None,
                (cap * share / total).quantize(Decimal("0.000001")),
                prop,
                on,
            )

    # -- deaths -----------------------------------------------------------------------------------------
    def deregister(self, rng: random.Random, row: Row, on: dt.date, after_revoke: bool = False) -> None:
        table = self.ent if "entname" in row else self.pb
        state = "3" if after_revoke else "4"
        values = {"regstate": state, "apprdate": on}
        if table is self.ent:
            values["regstate_cn"] = self.regstate[state]
        self.change(table, rng, row, **values)
        reason = "50" if after_revoke else CANCEL_REASON.pick(rng) if table is self.ent else "90"
        self.emit(
            self.cancel,
            rng,
            {
                "pripid": row["pripid"],
                "uniscid": row["uniscid"],
                "entname": row.get("entname") or row["traname"],
                "candate": on,
                "canrea": reason,
                "canrea_cn": self.canrea[reason],
                "regorg": row["regorg"],
            },
        )

    def revoke_row(self, rng: random.Random, row: Row, on: dt.date) -> None:
        table = self.ent if "entname" in row else self.pb
        values = {"regstate": "2", "apprdate": on}
        if table is self.ent:
            values["regstate_cn"] = self.regstate["2"]
        self.change(table, rng, row, **values)
        self.emit(
            self.revoke,
            rng,
            {
                "pripid": row["pripid"],
                "uniscid": row["uniscid"],
                "entname": row.get("entname") or row["traname"],
                "revdate": on,
                "revdecno": f"绍市监处罚〔{on.year}〕{rng.randint(1, 3000)}号",
                "revbasis": "《中华人民共和国市场主体登记管理条例》第四十六条",
                "revauth": authority(LEGACY_CODES.get(row["regorg"], row["regorg"]), on),
            },
        )

    # -- changes ----------------------------------------------------------------------------------------
    def alter(self, rng: random.Random, row: Row, item: str, on: dt.date) -> None:
        """One approved change of registration: the new row version, the change record, the history rows."""
        is_ent = "entname" in row
        table = self.ent if is_ent else self.pb
        name_col, addr_col = ("entname", "dom") if is_ent else ("traname", "oploc")
        district = row.get("domdistrict") or row.get("oplocdistrict") or KEQIAO
        before: Any
        after: Any
        values: dict[str, Any] = {"apprdate": on}
        if item == "01":
            before = row[name_col]
            after = (
                names.enterprise_name(rng, district, row["industryphy"], row["enttype"])
                if is_ent
                else names.shop_name(rng, district, row["industryphy"])
            )
            values[name_col] = after
            self.emit(
                self.hst_name,
                rng,
                {
                    "hisnameid": self.key("E_LP_HSTNAME"),
                    "pripid": row["pripid"],
                    "entname": before,
                    "altdate": on,
                },
            )
        elif item == "02":
            before, after = row[addr_col], names.address(rng, district)
            values[addr_col] = after
        elif item == "03":
            before, after = row["name"], names.person_name(rng)
            values["name"] = after
            if is_ent:
                self._replace_legal_rep(rng, row, after, on)
            else:
                values["cerno"] = make_id_number(
                    rng, rng.choice(names.ID_AREAS), names.birth_date(rng, on), True
                )
        elif item == "04" and is_ent:
            before = row["regcap"]
            after = (Decimal(before or 0) * Decimal(rng.choice(["1.5", "2", "3", "0.5"]))).quantize(
                Decimal("0.000001")
            )
            values["regcap"] = after
        elif item == "05":
            before = row["opscope"]
            after = f"{before}；{names.SCOPES[rng.choice(list(names.SCOPES))]}"[:1000]
            values["opscope"] = after
        elif item == "07" and is_ent:
            before, after = self._replace_investor(rng, row, on)
        elif item == "08" and is_ent:
            before, after = self._replace_manager(rng, row, on)
        else:
            before, after = "", f"{self.altitem[item]}（{on:%Y年%m月%d日}核准）"
        self.change(table, rng, row, **values)
        self.emit(
            self.alters,
            rng,
            {
                "altid": self.key("E_ALTER_RECODER"),
                "pripid": row["pripid"],
                "altitem": item,
                "altitem_cn": self.altitem[item],
                "altbe": None if before is None else str(before),
                "altaf": None if after is None else str(after),
                "altdate": on,
                "regorg": row["regorg"],
            },
        )

    def _replace_legal_rep(self, rng: random.Random, row: Row, new_name: str, on: dt.date) -> None:
        current = [p for p in self.buffer.find(self.person, "pripid", row["pripid"]) if p["lerepsign"] == "1"]
        position = "499A"
        for old in current:
            position = old["position"]
            self.change(self.person, rng, old, op="D")
            self.emit(
                self.hst_rep,
                rng,
                {
                    "hisnameid": self.key("E_LP_HSTLEREF"),
                    "pripid": row["pripid"],
                    "name": old["name"],
                    "certype": old["certype"],
                    "cerno": old["cerno"],
                    "altdate": on,
                },
            )
        self._person(rng, row["pripid"], new_name, position, True, on)

    def _replace_investor(self, rng: random.Random, row: Row, on: dt.date) -> tuple[str, str]:
        current = self.buffer.find(self.inv, "pripid", row["pripid"])
        if not current:
            new = self._investor(rng, row["pripid"], None, Decimal(row["regcap"] or 10), Decimal(100), on)
            return "", new["inv"]
        old = rng.choice(current)
        self.change(self.inv, rng, old, op="D")
        new = self._investor(rng, row["pripid"], None, old["subconam"], old["subconprop"], on)
        return old["inv"], new["inv"]

    def _replace_manager(self, rng: random.Random, row: Row, on: dt.date) -> tuple[str, str]:
        others = [p for p in self.buffer.find(self.person, "pripid", row["pripid"]) if p["lerepsign"] != "1"]
        old_name = ""
        if others:
            old = rng.choice(others)
            old_name = old["name"]
            self.change(self.person, rng, old, op="D")
        new = self._person(rng, row["pripid"], names.person_name(rng), "430A", False, on)
        return old_name, new["name"]

    # -- sampling ---------------------------------------------------------------------------------------
    def sample(
        self, rng: random.Random, space: str, n: int, accept: Callable[[Row], bool], *, exclusive: bool = True
    ) -> list[Row]:
        """Up to ``n`` distinct rows of E_BASEINFO / E_PB_BASEINFO that ``accept`` admits.

        ``exclusive`` samples leave out, and then reserve, entities an event already touched today, so one
        entity is not deregistered twice or changed after its deregistration on the same day.
        """
        table = self.ent if space == "E_BASEINFO" else self.pb
        top = self.counters.get(space)
        found: list[Row] = []
        for _ in range(6):
            if len(found) >= n or top == 0:
                break
            want = (n - len(found)) * 2 + 4
            keys = [(make_key(self.seed, space, rng.randint(1, top)),) for _ in range(want)]
            rows = self.buffer.fetch(table, keys)
            for (pripid,) in keys:
                row = rows.get((pripid,))
                taken = exclusive and pripid in self.chosen_today
                if row and not taken and row["dsc_biz_operation"] != "D" and accept(row):
                    if exclusive:
                        self.chosen_today.add(pripid)
                    found.append(row)
                    if len(found) >= n:
                        break
        return found


def is_live(row: Row) -> bool:
    return row["regstate"] == "1"


def births_per_year(scale: float) -> dict[str, float]:
    """Entities born per year at the first day, per kind, so that the live stock meets the target."""
    live = {"ent": LIVE_TARGET * ENTERPRISE_SHARE * scale, "pb": LIVE_TARGET * (1 - ENTERPRISE_SHARE) * scale}
    return {k: live[k] / live_per_birth_rate(LIFETIME[k]) for k in live}


def build_history(pop: Population, first_day: dt.date, flush: Callable[[], None]) -> dict[str, int]:
    """Every entity alive on ``first_day`` or dead within the history window, with its past changes.

    Returns the live counts per kind; ``flush`` is called every few thousand entities to bound memory.
    """
    cutoff = first_day.replace(year=first_day.year - HISTORY_YEARS)
    live = {"ent": 0, "pb": 0}
    rates = births_per_year(pop.scale)
    done = 0
    for kind in ("ent", "pb"):
        for age in range(BIRTH_YEARS - 1, -1, -1):
            rng = stream(pop.seed, "history", kind, age)
            year_end = first_day - dt.timedelta(days=round(age * 365.25))
            year_start = year_end - dt.timedelta(days=365)
            for _ in range(poisson(rng, rates[kind] * math.exp(-GROWTH * age))):
                estdate = date_between(rng, year_start, year_end - dt.timedelta(days=1))
                life_days = rng.expovariate(1 / (LIFETIME[kind] * 365.25))
                death = estdate + dt.timedelta(days=int(life_days))
                if death < cutoff:
                    continue
                pop.ts = dt.datetime.combine(first_day, dt.time()) + dt.timedelta(
                    seconds=rng.randrange(6 * 3600)
                )
                row = pop.new_entity(rng, kind, estdate)
                last = min(death, first_day - dt.timedelta(days=1))
                for _ in range(poisson(rng, 1.2 if kind == "ent" else 0.5)):
                    if last > estdate:
                        row = pop.buffer.fetch(pop.ent if kind == "ent" else pop.pb, [(row["pripid"],)])[
                            (row["pripid"],)
                        ]
                        pop.alter(rng, row, ALTER_WEIGHTS.pick(rng), date_between(rng, estdate, last))
                row = pop.buffer.fetch(pop.ent if kind == "ent" else pop.pb, [(row["pripid"],)])[
                    (row["pripid"],)
                ]
                if death < first_day:
                    fate = rng.random()
                    if kind == "ent" and fate < 0.12:
                        pop.revoke_row(rng, row, death)
                    elif kind == "ent" and fate < 0.15:
                        pop.revoke_row(rng, row, death)
                        row = pop.buffer.fetch(pop.ent, [(row["pripid"],)])[(row["pripid"],)]
                        pop.deregister(
                            rng,
                            row,
                            min(
                                death + dt.timedelta(days=rng.randint(30, 900)),
                                first_day - dt.timedelta(days=1),
                            ),
                            after_revoke=True,
                        )
                    else:
                        pop.deregister(rng, row, death)
                else:
                    live[kind] += 1
                done += 1
                if done % 2000 == 0:
                    flush()
    flush()
    return live


def simulate_day(
    pop: Population, day: dt.date, first_day: dt.date, live: dict[str, int], factor: float
) -> None:
    """Births, deaths and changes of one day; ``live`` is updated in place."""
    rates = births_per_year(pop.scale)
    years = (day - first_day).days / 365.25
    pop.chosen_today = set()
    for kind, space in (("ent", "E_BASEINFO"), ("pb", "E_PB_BASEINFO")):
        rng = stream(pop.seed, "day", day.isoformat(), kind)
        grown = rates[kind] * math.exp(GROWTH * years)
        for _ in range(poisson(rng, grown / 365 * factor)):
            pop.ts = office_time(rng, day)
            pop.new_entity(rng, kind, day)
            live[kind] += 1
        deaths = poisson(rng, live[kind] / LIFETIME[kind] / 365 * factor)
        for row in pop.sample(rng, space, deaths, is_live):
            pop.ts = office_time(rng, day)
            if kind == "ent" and rng.random() < 0.1:
                pop.revoke_row(rng, row, day)
            else:
                pop.deregister(rng, row, day)
            live[kind] -= 1
    rng = stream(pop.seed, "day", day.isoformat(), "alter")
    total = sum(ALTER_ITEMS.values()) * pop.scale * factor
    n = poisson(rng, total)
    kinds = [("E_BASEINFO" if rng.random() < 0.6 else "E_PB_BASEINFO") for _ in range(n)]
    for space in ("E_BASEINFO", "E_PB_BASEINFO"):
        for row in pop.sample(rng, space, kinds.count(space), is_live):
            pop.ts = office_time(rng, day)
            pop.alter(rng, row, ALTER_WEIGHTS.pick(rng), day)
