"""Near-duplicate clustering, template summaries and networks on generated ads."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import homogeneity_completeness_v_measure

from ctip.ads.cluster import DatasketchClusterer, MinHashLSH, Tokenizer, cluster_texts
from ctip.ads.generate import generate_ads
from ctip.ads.networks import build_networks
from ctip.ads.templates import summarise


def test_clusters_follow_the_templates() -> None:
    generated = generate_ads(3000, seed=11)
    texts = [f"{a['title']}\n{a['body']}" for a in generated.ads]
    labels = cluster_texts(texts)
    truth = [t.template for t in generated.truth]
    homogeneity, completeness, _ = homogeneity_completeness_v_measure(truth, labels)
    assert homogeneity > 0.95 and completeness > 0.9


def test_unrelated_texts_stay_apart_and_reposts_join() -> None:
    # true 3-shingle Jaccard about 0.68, well clear of the 0.5 threshold
    base = (
        "Hi gentlemen I am {} a sweet {} year old girl visiting {} this week call me now xoxo"
        " no rush no games just a relaxing time with a real girl"
    )
    texts = [
        base.format("Amy", 22, "Denver"),
        base.format("Jade", 23, "Phoenix"),
        "Lost dog near the park answers to Max reward offered please call",
        "Furnished room for rent utilities included close to campus",
    ]
    labels = cluster_texts(texts)
    assert labels[0] == labels[1] and len({labels[1], labels[2], labels[3]}) == 3


def test_signatures_estimate_jaccard() -> None:
    rng = np.random.default_rng(5)
    words = ["".join(rng.choice(list("abcdefghij"), 8)) for _ in range(400)]
    a, b = " ".join(words[:300]), " ".join(words[100:400])  # 3-shingle Jaccard about 0.5
    tokens, offsets = Tokenizer().corpus([a, b])
    lsh = MinHashLSH(bins=256, bands=32)
    signature = lsh.signatures(tokens, offsets)
    estimate = lsh.similarity(signature, np.array([[0, 1]]))[0]
    assert 0.35 < estimate < 0.65


def test_datasketch_baseline_agrees_on_clear_cases() -> None:
    texts = ["call me now sweet amy visiting denver this week only"] * 3 + ["lost dog reward"]
    labels = DatasketchClusterer().cluster(texts)
    assert labels[0] == labels[1] == labels[2] != labels[3]


def test_template_summary_has_slots() -> None:
    texts = [
        f"Hi gentlemen I am {name} and I am {age} years young visiting {city} this week, call"
        for name, age, city in [
            ("Amy", 21, "Denver"),
            ("Jade", 23, "Phoenix"),
            ("Luna", 22, "Miami"),
        ]
    ]
    template = summarise(texts)
    assert "hi gentlemen i am" in template.text and "[1]" in template.text
    kinds = {s.kind for s in template.slots}
    assert "name" in kinds and "city" in kinds
    assert template.compression > 1


def test_networks_are_components_and_large_ones_split() -> None:
    assignment = build_networks(5, [0, 1, 1, 2, 3], ["p:a", "p:a", "e:x", "e:x", "p:z"])
    assert assignment.network[0] == assignment.network[1] == assignment.network[2]
    assert len({assignment.network[2], assignment.network[3], assignment.network[4]}) == 3
    # two dense groups joined by one shared value: one component, two Leiden communities
    ads, values = [], []
    for group in range(2):
        for member in range(30):
            for shared in range(5):
                ads.append(group * 30 + member)
                values.append(f"phone:{group}-{shared}")
    ads += [0, 30]
    values += ["handle:bridge", "handle:bridge"]
    split = build_networks(60, ads, values, max_size=40)
    assert len(set(split.component.tolist())) == 1
    assert len(set(split.network.tolist())) == 2 and split.split_components == 1
