"""Online ads and messages: identifiers, indicators, clustering and networks.

The function-level API other capabilities reuse:

- ``extract_identifiers(ad, region="US") -> Extraction`` (phones, e-mails, handles, URLs,
  wallets, prices, ages, each with evidence spans);
- ``screen(text_or_ad, kind="ads"|"messages") -> Screening`` against the versioned catalogue;
- ``validate_wallet(address)`` / ``find_wallets(text)`` with real checksum checks;
- ``normalize(text)`` folding obfuscated text with a map back to the original;
- ``cluster_texts(texts)`` / ``MinHashLSH`` for near-duplicate clustering, ``summarise`` for
  the template and slots of a cluster;
- ``build_networks(n, ads, values)`` over identifier rows of any kind (image, wallet, ...).
"""

from ctip.ads.cluster import MinHashLSH, cluster_texts
from ctip.ads.extract import Evidence, Extraction, Found, extract_identifiers
from ctip.ads.indicators import Screening, load_catalogue, screen
from ctip.ads.networks import build_networks
from ctip.ads.normalize import normalize
from ctip.ads.templates import summarise
from ctip.ads.wallets import Wallet, find_wallets, validate_wallet

__all__ = [
    "Evidence",
    "Extraction",
    "Found",
    "MinHashLSH",
    "Screening",
    "Wallet",
    "build_networks",
    "cluster_texts",
    "extract_identifiers",
    "find_wallets",
    "load_catalogue",
    "normalize",
    "screen",
    "summarise",
    "validate_wallet",
]
