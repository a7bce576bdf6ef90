"""Forecasting models with one estimator API (base.py) and a registry by name."""

from __future__ import annotations

from ctip.errors import BadInputError
from ctip.spatial.forecast.base import Forecast, Forecaster, History, Window
from ctip.spatial.forecast.gbm import GBMForecaster
from ctip.spatial.forecast.sepp import SEPPForecaster
from ctip.spatial.forecast.simple import KDEForecaster, NaiveForecaster, ProspectiveForecaster

MODEL_NAMES = ("naive", "kde", "prospective", "sepp", "gbm")

__all__ = [
    "MODEL_NAMES",
    "Forecast",
    "Forecaster",
    "GBMForecaster",
    "History",
    "KDEForecaster",
    "NaiveForecaster",
    "ProspectiveForecaster",
    "SEPPForecaster",
    "Window",
    "make_model",
]


def make_model(name: str, *, horizon_days: float = 7.0, seed: int = 0) -> Forecaster:
    """A model with its default parameters; the gbm learns for the given horizon."""
    if name == "naive":
        return NaiveForecaster()
    if name == "kde":
        return KDEForecaster()
    if name == "prospective":
        return ProspectiveForecaster()
    if name == "sepp":
        return SEPPForecaster()
    if name == "gbm":
        return GBMForecaster(horizon_days=horizon_days, random_state=seed)
    raise BadInputError(f"unknown model '{name}'", hint=f"use one of {', '.join(MODEL_NAMES)}")
