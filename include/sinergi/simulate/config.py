"""What a simulated world looks like: its size, its time span and how noisy its registries are."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date


@dataclass(frozen=True)
class DamageRates:
    """How often the registries damage what they record (probabilities per source record).

    Defaults are the "default damage" of the identity-resolution evaluation; ``scaled(2)``
    gives the doubled rates.
    """

    nik_damaged: float = 0.06  # any NIK damage kind of SOURCES.md
    nik_missing_old_placement: float = 0.5  # placements registered before 2017 often lack a NIK
    name_variant: float = 0.25  # another registry spells the name differently
    title_attached: float = 0.08  # honorifics and degrees (Parekraf: three times as often)
    birth_date_missing: float = 0.04
    region_truncated: float = 0.05  # only PP.KK (KemenP2MI) or the 4-digit regency (UMKM)
    parekraf_numeric_nik: float = 0.15  # NIK typed as a number: precision already lost
    parekraf_text_birth_date: float = 0.2  # `DD-MM-YYYY` text instead of a date cell
    invalid_row: float = 0.003  # a deliberately invalid extra row (must be quarantined)

    def scaled(self, factor: float) -> DamageRates:
        """The same world with every damage rate multiplied (capped at 1)."""
        return DamageRates(**{k: min(1.0, v * factor) for k, v in asdict(self).items()})


@dataclass(frozen=True)
class SimulationConfig:
    persons: int
    start: date  # D1: the first logical date (the backlog night)
    end: date  # D2: the last logical date, inclusive
    seed: int = 0
    damage: DamageRates = field(default_factory=DamageRates)
    # How many years of history exist before D1 (delivered as the first night's backlog).
    history_years: int = 8
    # Share of (file source, night) deliveries that go wrong: missing, broken (cut off) or a
    # duplicate of the previous delivery. The ministry re-sends the rows of a bad night in
    # its next good delivery. 0 by default: the identity and warehouse tests want clean nights.
    delivery_fault_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.persons < 1:
            raise ValueError("persons must be at least 1")
        if self.end < self.start:
            raise ValueError(f"--to {self.end} is before --from {self.start}")

    def as_dict(self) -> dict:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        return data
