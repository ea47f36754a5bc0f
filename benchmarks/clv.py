"""CLV fit speed and parameters on CDNOW: our scipy fit against lifetimes and pymc-marketing.

Run by hand for the figures (``python benchmarks/clv.py``); ``--quick`` proves
the script works in well under 30 s. Figures are printed, never asserted:
absolute times vary between machines. The data are the CDNOW files shipped in
the ``lifetimes`` wheel (the test extra), as in ``tests/unit/test_clv.py``.

1. Our fit (:func:`codex_jupyter.analytics.clv.fit_bgnbd` and ``fit_gamma_gamma``)
   on the published CDNOW summary (2,357 customers, 946 repeat buyers): best
   time of a few runs and the parameters next to the published ones (Fader,
   Hardie and Lee 2005). Also ``clv(...)`` end to end on the raw transactions.
2. ``lifetimes`` (unmaintained since 2020) on the same summary.
3. pymc-marketing's ``BetaGeoModel`` and ``GammaGammaModel``, only when
   ``pymc_marketing`` is importable (it is not a dependency of the project:
   install it in a throwaway venv to run this part). Each run is a fresh
   subprocess: ``fit(method="map")`` with the default priors and, for BG/NBD,
   with flat priors (MAP = maximum likelihood, the like-for-like comparison),
   with a cold PyTensor compile cache, then a warm one, then without a C++
   compiler (``cxx=``, PyTensor's Python fallback). Not in quick mode: the
   default MCMC fit (``pm.sample``), given ``MCMC_TIMEOUT`` seconds, else skipped.
   In quick mode only the MAP fits run, with the user's own PyTensor cache.
4. Import time of each library in a fresh interpreter (the second of two runs,
   so byte-code compilation is not counted; one run in quick mode).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from codex_jupyter.analytics.clv import clv, fit_bgnbd, fit_gamma_gamma

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "gamma": 15.44}
#: Seconds the default MCMC fit of both models may take before it is reported as skipped.
MCMC_TIMEOUT = 300


def _cdnow_dir() -> Path | None:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


def cdnow_summary(folder: Path) -> pd.DataFrame:
    """The published CDNOW summary: ``x`` repeat purchases, ``t_x`` recency, ``T`` age (weeks), ``zbar`` spend."""
    return pd.read_csv(folder / "cdnow_customers_summary_with_transactions.csv")


def _best(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _params(values: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.3f}" for k, v in values.items())


def _times(who: str, bgnbd: float, gamma_gamma: float, repeats: int) -> None:
    label = f"{who}, fit time:"
    print(f"  {label:<26} BG/NBD {bgnbd * 1000:.0f} ms, Gamma-Gamma {gamma_gamma * 1000:.0f} ms (best of {repeats})")


def ours(folder: Path, summary: pd.DataFrame, repeats: int) -> None:
    frame = pd.DataFrame(
        {"frequency": summary.x, "recency": summary.t_x, "age": summary["T"], "avg_spend": summary.zbar}
    )
    t_bg, bg = _best(lambda: fit_bgnbd(frame), repeats)
    t_gg, gg = _best(lambda: fit_gamma_gamma(frame), repeats)
    print(f"  published (FHL 2005):      {_params(PUBLISHED)}")
    print(f"  ours:                      {_params(bg | gg)}")
    _times("ours", t_bg, t_gg, repeats)
    raw = pd.read_csv(
        folder / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer", "date", "cds", "value"],
        dtype={"date": str},
    )
    raw["date"] = pd.to_datetime(raw.date, format="%Y%m%d")
    t_all, result = _best(lambda: clv(raw, "customer", "date", "value", 52, observation_end="1997-10-01"), repeats)
    print(
        f"  ours, clv() end to end on {len(raw):,} raw transactions: {t_all * 1000:.0f} ms "
        f"(summary, both fits, predictions); {_params(result.params)}"
    )


def lifetimes_fit(summary: pd.DataFrame, repeats: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter

        repeat = summary[summary.x > 0]
        t_bg, bg = _best(lambda: BetaGeoFitter().fit(summary.x, summary.t_x, summary["T"]), repeats)
        t_gg, gg = _best(lambda: GammaGammaFitter().fit(repeat.x, repeat.zbar), repeats)
    params = dict(bg.params_) | {("gamma" if k == "v" else k): v for k, v in gg.params_.items()}
    print(f"  lifetimes:                 {_params(params)}")
    _times("lifetimes", t_bg, t_gg, repeats)


def _pymc_worker(method: str, folder: str) -> None:
    """Runs in a subprocess: fit both pymc-marketing models, print times and parameters as one JSON line."""
    summary = cdnow_summary(Path(folder))
    start = time.perf_counter()
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    out: dict[str, object] = {"import_s": time.perf_counter() - start}
    bg = pd.DataFrame({"customer_id": summary.ID, "frequency": summary.x, "recency": summary.t_x, "T": summary["T"]})
    repeat = summary[summary.x > 0]
    gg = pd.DataFrame({"customer_id": repeat.ID, "frequency": repeat.x, "monetary_value": repeat.zbar})
    flat = {k: Prior("HalfFlat") for k in ("r", "alpha", "a", "b")}
    fits = [("BG/NBD", BetaGeoModel, None, bg), ("Gamma-Gamma", GammaGammaModel, None, gg)]
    if method == "map":
        fits.insert(1, ("BG/NBD flat priors", BetaGeoModel, flat, bg))
    for label, model, config, data in fits:
        times = []
        for _ in range(2 if method == "map" else 1):
            start = time.perf_counter()
            idata = model(model_config=config).fit(data, method=method, progressbar=False)
            times.append(time.perf_counter() - start)
        post = idata.posterior
        out[label] = {
            "times": times,
            "params": {k: float(post[k].mean()) for k in ("r", "alpha", "a", "b", "p", "q", "v") if k in post},
        }
        if method == "mcmc":
            import arviz as az

            out[label]["rhat"] = float(az.rhat(idata).to_array().max())
    print("RESULT " + json.dumps(out))


def _run_worker(method: str, folder: Path, flags: str, timeout: float | None = None) -> dict | None:
    env = dict(os.environ)
    env["PYTENSOR_FLAGS"] = ",".join(filter(None, [env.get("PYTENSOR_FLAGS"), flags]))
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--pymc-worker", method, str(folder)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        print(f"    worker failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        return {}
    result = json.loads(lines[-1].removeprefix("RESULT "))
    result["wall_s"] = time.perf_counter() - start
    return result


def _report(title: str, result: dict | None) -> None:
    if not result:
        return
    print(f"  {title}: process {result['wall_s']:.1f} s (import {result['import_s']:.1f} s)")
    for label, fit in result.items():
        if not isinstance(fit, dict):
            continue
        times = " then ".join(f"{t:.2f} s" for t in fit["times"])
        params = {("gamma" if k == "v" else k): v for k, v in fit["params"].items()}
        rhat = f", max r-hat {fit['rhat']:.3f}" if "rhat" in fit else ""
        print(f"    {label:<20} {times:<18} {_params(params)}{rhat}")


def pymc_marketing(folder: Path, quick: bool) -> None:
    if importlib.util.find_spec("pymc_marketing") is None:
        print("  pymc-marketing is not installed here: skipped (install it in a throwaway venv to measure it)")
        return
    print("  fit times: first fit in the process, then a second identical fit (MAP)")
    if quick:
        _report("MAP, the user's PyTensor cache", _run_worker("map", folder, ""))
        print("  (quick: cold-cache, no-compiler and MCMC runs skipped)")
        return
    with tempfile.TemporaryDirectory(prefix="pytensor-") as cache:
        _report("MAP, cold PyTensor cache", _run_worker("map", folder, f"compiledir={cache}"))
        _report("MAP, warm PyTensor cache", _run_worker("map", folder, f"compiledir={cache}"))
        with tempfile.TemporaryDirectory(prefix="pytensor-") as empty:
            _report("MAP, no C++ compiler (cxx=)", _run_worker("map", folder, f"compiledir={empty},cxx="))
        result = _run_worker("mcmc", folder, f"compiledir={cache}", timeout=MCMC_TIMEOUT)
        if result is None:
            print(f"  default MCMC (pm.sample): skipped, both fits did not finish within {MCMC_TIMEOUT} s")
        else:
            _report("default MCMC (pm.sample), posterior means", result)


def import_times(quick: bool) -> None:
    modules = ["codex_jupyter.analytics.clv", "lifetimes"]
    if importlib.util.find_spec("pymc_marketing") is not None:
        modules.append("pymc_marketing.clv")
    code = "import time, warnings; warnings.simplefilter('ignore'); s = time.perf_counter(); import {}\n"
    code += "print(time.perf_counter() - s)"
    for module in modules:
        if importlib.util.find_spec(module.split(".")[0]) is None:
            continue
        runs = []
        for _ in range(1 if quick else 2):
            proc = subprocess.run([sys.executable, "-c", code.format(module)], capture_output=True, text=True)
            runs.append(float(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else float("nan"))
        print(f"  import {module:<30} {runs[-1]:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run that proves the script works")
    parser.add_argument("--pymc-worker", nargs=2, metavar=("METHOD", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pymc_worker:
        _pymc_worker(*args.pymc_worker)
        return
    quick = args.quick
    folder = _cdnow_dir()
    if folder is None:
        print("lifetimes (the source of the CDNOW data files, in the test extra) is not installed: nothing to measure")
        return
    summary = cdnow_summary(folder)
    repeats = 3 if quick else 10
    print(f"1. Our scipy fit on the CDNOW summary ({len(summary):,} customers, {int((summary.x > 0).sum())} repeat)")
    ours(folder, summary, repeats)
    print("2. lifetimes on the same summary")
    lifetimes_fit(summary, repeats)
    print("3. pymc-marketing on the same summary" + (" (quick)" if quick else ""))
    pymc_marketing(folder, quick)
    print("4. Import time in a fresh interpreter")
    import_times(quick)


if __name__ == "__main__":
    main()
