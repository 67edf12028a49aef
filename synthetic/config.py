"""Every knob of the synthetic state in one place: tiers, time span, program flow and noise rates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

SYSTEMS: tuple[str, ...] = ("ui", "wp", "title1", "vr", "adult_ed")


@dataclass(frozen=True)
class NoiseRates:
    """Identity noise, each a probability per source record (or per person where noted)."""

    name_typo: float = 0.03  # one character dropped, doubled, swapped or replaced
    nickname: float = 0.08  # first name given as a nickname (Bill for William)
    middle_missing: float = 0.25
    ssn_transposed: float = 0.008  # two adjacent digits swapped
    ssn_digit: float = 0.008  # one digit wrong
    ssn_invalid: float = 0.004  # junk such as 123456789 or area 000 keyed in
    ssn_ocr: float = 0.002  # a digit read as a letter (5 -> S, 0 -> O, 1 -> l)
    ssn_missing: dict[str, float] = field(
        default_factory=lambda: {"ui": 0.0, "wp": 0.06, "title1": 0.08, "vr": 0.05, "adult_ed": 0.40}
    )
    dob_swap: float = 0.01  # day and month swapped
    dob_off: float = 0.01  # one of day, month or year off by one
    dob_missing: float = 0.02
    dob_impossible: float = 0.002  # 09/07/988 and friends
    sex_unknown: float = 0.03
    surname_variant: float = 0.5  # two-part surname written with one part, or hyphen vs space
    maiden_name_kept: float = 0.2  # after a marriage, a record still carries the old surname
    phone_missing: float = 0.35
    email_missing: float = 0.5
    address_typo: float = 0.02
    wage_ssn_error: float = 0.002  # employer-reported SSN with a wrong digit


@dataclass(frozen=True)
class PopulationRates:
    """Who is who: marriages, moves, suffixes and look-alikes (per person)."""

    spanish_names: float = 0.14
    two_part_surname: float = 0.05
    hyphenated_surname: float = 0.03
    suffix_male: float = 0.04
    married_during_span: float = 0.04  # women whose surname changes during the span
    move_during_span: float = 0.25
    twins: float = 0.004  # a second person: same surname, DOB, address; other first name, SSN
    same_name_dob: float = 0.002  # an unrelated person with the same first+last name and DOB
    household_member: float = 0.02  # a second person at the same address and phone, same surname


@dataclass(frozen=True)
class FlowRates:
    """How people move through the one-stop system."""

    ui_claimant: float = 0.66
    ui_extra_claim: float = 0.6
    ui_claim_voided: float = 0.004
    wp_given_claim: float = 0.80
    wp_without_claim: float = 0.5
    wp_self_service_only: float = 0.15
    wp_duplicate_registration: float = 0.02  # the same person registered twice (two Individual IDs)
    wp_second_period: float = 0.15
    wp_followup: float = 0.30
    t1_from_wp_referral: float = 0.3
    t1_youth_direct: float = 0.25  # share of people aged 16-24 at the start served by Youth directly
    vr_case: float = 0.06
    vr_case_disabled: float = 0.35
    vr_waitlist_served_by_wp: float = 0.5
    ae_learner: float = 0.12
    ae_referred_from_t1: float = 0.25
    ae_second_period: float = 0.10
    ae_under_12_hours: float = 0.12
    redelivered_old_version: float = 0.003  # an older version of a row sent again after a newer one
    missing_night: float = 0.01  # a system sends nothing one night (the next drop carries its rows)
    test_record: float = 0.0005  # staff test registrations, later voided or removed at source
    trailing_blank_line: float = 0.05  # a delimited file ends with an extra empty line


@dataclass(frozen=True)
class GeneratorConfig:
    people: int = 5000
    seed: int = 42
    history_start: dt.date = dt.date(2021, 7, 1)
    full_date: dt.date = dt.date(2023, 7, 1)  # the first (FULL) drop of every nightly system
    end_date: dt.date = dt.date(2025, 6, 30)  # the last nightly drop
    as_of: dt.date | None = None  # cut the landing zone as a given night saw it (default end_date)
    refresh_full_every_days: int = 365  # a later FULL drop (keys absent from it were removed at source)
    wage_lag_days: int = 45  # a quarter's wage file arrives this long after the quarter ends
    wage_amended_quarters: int = 1  # how many quarters get an amended re-delivery
    wage_amend_lag_days: int = 120
    background_workers_per_person: float = 2.2  # wage-file workers who are in no program
    malformed_rate: float = 0.0005  # event rows corrupted on purpose (listed in truth/injected_faults.csv)
    noise: NoiseRates = field(default_factory=NoiseRates)
    population: PopulationRates = field(default_factory=PopulationRates)
    flow: FlowRates = field(default_factory=FlowRates)

    @property
    def cutoff(self) -> dt.date:
        return self.as_of or self.end_date

    def with_(self, **changes: object) -> GeneratorConfig:
        return replace(self, **changes)  # type: ignore[arg-type]


TIERS: dict[str, GeneratorConfig] = {
    "demo": GeneratorConfig(people=5000),
    "state": GeneratorConfig(people=400_000),
}
