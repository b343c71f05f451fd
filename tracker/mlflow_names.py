"""The names MLflow gives what a client leaves unnamed: "merciful-mink-662".

`mlflow server` names a logged model created without a name (`initialize_logged_model()`,
a GenAI model) as it names runs: an adjective, a noun and a number up to 1000, joined by
dashes, at most 20 characters. Targetline gives names of that shape, and a name no model
of the experiment has yet, so a name filter finds the one model it names.

Pure on purpose: no Django, so the rules are tested on their own.
"""

import random
from collections.abc import Container

_ADJECTIVES = (
    "amazing", "bold", "brave", "bright", "calm", "capable", "carefree", "clean", "clever",
    "crisp", "daring", "eager", "fair", "fast", "fearless", "gentle", "glad", "grand", "handy",
    "honest", "jolly", "keen", "kind", "lively", "loud", "lucky", "merciful", "mighty", "nimble",
    "patient", "polite", "proud", "quick", "quiet", "rare", "shy", "silent", "smart", "steady",
    "sunny", "swift", "tidy", "upbeat", "useful", "vast", "warm", "wise", "witty", "zealous",
)
_NOUNS = (
    "ant", "ape", "asp", "auk", "bass", "bat", "bear", "bee", "bird", "boar", "calf", "carp",
    "cat", "colt", "cow", "crab", "crow", "deer", "doe", "dove", "duck", "eel", "elk", "fawn",
    "finch", "fish", "fly", "foal", "fox", "frog", "goat", "gull", "hare", "hawk", "hen", "jay",
    "kit", "lamb", "lark", "mink", "mole", "moth", "mule", "newt", "owl", "ox", "pig", "ram",
    "seal", "shrew", "slug", "snail", "sow", "stag", "swan", "toad", "trout", "wasp", "whale",
    "wolf", "worm", "wren", "yak",
)


def random_name(*, highest: int = 1000) -> str:
    """One name of MLflow's shape: "<adjective>-<noun>-<0..highest>" (at most 19 characters
    with MLflow's highest number, 1000)."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(0, highest)}"


def unused_name(taken: Container[str], tries: int = 50) -> str:
    """A name of MLflow's shape that is not in `taken` (the experiment's models' names).

    With 49 × 63 × 1001 names, a clash is rare; after `tries` clashes in a row the number
    grows past MLflow's range rather than repeat a name.
    """
    for _ in range(tries):
        name = random_name()
        if name not in taken:
            return name
    name = random_name(highest=10 ** 6)
    while name in taken:
        name = random_name(highest=10 ** 6)
    return name
