"""The ministries' programmes as the simulator offers them, with the contract's categories.

Categories are those of ``contracts/WAREHOUSE.md`` (harmonised programme categories). The
warehouse keeps its own seed of this mapping; the simulator needs it to write ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Program:
    ministry: str  # KP2MI, UMKM, PAREKRAF, KEMENKOP, KEMENDES
    code: str
    name: str
    category: str


KP2MI_PROGRAMS = {
    "MC-KWU": Program("KP2MI", "MC-KWU", "Pelatihan Kewirausahaan Migran Center", "training"),
    "PURNA-KWU": Program("KP2MI", "PURNA-KWU", "Pelatihan Kewirausahaan PMI Purna", "training"),
    "KUR-PMI": Program("KP2MI", "KUR-PMI", "Kredit Usaha Rakyat PMI", "financing"),
    "MC-BHS": Program(
        "KP2MI", "MC-BHS", "Pelatihan Bahasa Pra-Penempatan Migran Center", "training"
    ),
}

UMKM_PROGRAMS = {
    "KUR-SM": Program("UMKM", "KUR-SM", "KUR Super Mikro", "financing"),
    "KUR-MI": Program("UMKM", "KUR-MI", "KUR Mikro", "financing"),
    "KUR-KC": Program("UMKM", "KUR-KC", "KUR Kecil", "financing"),
    "PDP": Program("UMKM", "PDP", "Pendampingan Usaha", "business_assistance"),
    "INK": Program("UMKM", "INK", "Inkubasi Usaha", "business_assistance"),
    "DIGI": Program("UMKM", "DIGI", "Pelatihan Digitalisasi UMKM", "training"),
}

# Parekraf delivers a training name and a Kategori; every Parekraf training is `training`.
PAREKRAF_CATEGORIES = (
    "Desa Wisata",
    "Kuliner",
    "Kriya",
    "Fesyen",
    "Digital Kreatif",
    "Pemandu Wisata",
)
PAREKRAF_TRAININGS = {
    "Desa Wisata": ("Pelatihan Tata Kelola Desa Wisata", "Pelatihan Homestay Desa Wisata"),
    "Kuliner": ("Pelatihan Kuliner Nusantara", "Pelatihan Pengemasan Produk Kuliner"),
    "Kriya": ("Pelatihan Kriya Anyaman", "Pelatihan Batik Tulis"),
    "Fesyen": ("Pelatihan Desain Busana Muslim", "Pelatihan Menjahit Produktif"),
    "Digital Kreatif": ("Pelatihan Fotografi Produk", "Pelatihan Pemasaran Digital"),
    "Pemandu Wisata": ("Pelatihan Pemandu Wisata Alam", "Pelatihan Pemandu Wisata Budaya"),
}

KEMENDES_ACTIVITIES = {
    "PKTD": Program("KEMENDES", "PKTD", "Padat Karya Tunai Desa", "cash_for_work"),
    "BUMDES": Program("KEMENDES", "BUMDES", "Badan Usaha Milik Desa", "village_enterprise"),
    "DME": Program("KEMENDES", "DME", "Desa Migran Emas", "migrant_village"),
    "PKD": Program("KEMENDES", "PKD", "Pelatihan Kewirausahaan Desa", "training"),
}

KEMENKOP_MEMBERSHIP = Program(
    "KEMENKOP", "ANGGOTA", "Keanggotaan Koperasi", "cooperative_membership"
)
KEMENKOP_LOAN = Program("KEMENKOP", "PINJAMAN", "Pinjaman Koperasi", "financing")

PARTNER_MINISTRY_OF_SOURCE = {
    "kp2mi_program": "KP2MI",
    "umkm_penerima": "UMKM",
    "parekraf_pelatihan": "PAREKRAF",
    "kemenkop_anggota": "KEMENKOP",
    "kemendes_kegiatan": "KEMENDES",
}
