"""Run by deploy/validate: every metric a dashboard or alert query reads must be exposed, and the operator's monitors must select the manifests' pods.

Usage: check-observability.py DEPLOY_DIR EXPOSED_NAMES_FILE SOURCE_DESCRIPTION
"""
import json
import pathlib
import re
import sys

import yaml

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "and",
            "or", "unless", "bool", "inf", "nan"}
# Series Prometheus makes itself, per scrape target.
BUILT_IN = {"up"}


def names_in(expr):
    """The metric names a PromQL expression reads (not functions, labels, keywords or ranges)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr):
        if match.group(1) not in KEYWORDS:
            yield match.group(1)


def panel_exprs(panels):
    for panel in panels:
        yield from (target["expr"] for target in panel.get("targets", []) if "expr" in target)
        yield from panel_exprs(panel.get("panels", []))


def queries(deploy):
    dashboard = json.loads((deploy / "observability/dashboard.json").read_text())
    rules = yaml.safe_load((deploy / "observability/alerts.yml").read_text())
    found = [("dashboard.json", expr) for expr in panel_exprs(dashboard["panels"])]
    found += [("alerts.yml " + rule["alert"], rule["expr"])
              for group in rules["groups"] for rule in group["rules"]]
    return found


def check_names(deploy, exposed, source):
    exposed = exposed | BUILT_IN
    base = lambda name: re.sub(r"_(bucket|sum|count)$", "", name)
    read = queries(deploy)
    missing = sorted({(where, name) for where, expr in read for name in names_in(expr)
                      if name not in exposed and base(name) not in exposed})
    for where, name in missing:
        print(f"{where}: {name} is not exposed ({source})", file=sys.stderr)
    if missing or not read:
        sys.exit("a dashboard or alert query reads a metric that is not exposed")
    metrics = {name for _, expr in read for name in names_in(expr)}
    print(f"observability: {len(read)} queries read {len(metrics)} metrics, all exposed ({source})")


def check_monitors(deploy):
    docs = list(yaml.safe_load_all((deploy / "observability/servicemonitor.yaml").read_text()))
    kinds = sorted(doc["kind"] for doc in docs)
    if kinds != ["PodMonitor", "ServiceMonitor"]:
        sys.exit(f"servicemonitor.yaml: expected a PodMonitor and a ServiceMonitor, found {kinds}")
    pods = [yaml.safe_load(path.read_text())
            for path in (deploy / "kubernetes").glob("*-deployment.yaml")]
    labels = [pod["spec"]["template"]["metadata"]["labels"] for pod in pods]
    for doc in docs:
        wanted = doc["spec"]["selector"]["matchLabels"]
        if not any(wanted.items() <= have.items() for have in labels):
            sys.exit(f"servicemonitor.yaml: the {doc['kind']} selects no pods: {wanted}")
    print("servicemonitor.yaml: a ServiceMonitor and a PodMonitor, each selecting the manifests' pods")


def main():
    deploy = pathlib.Path(sys.argv[1])
    exposed = set(pathlib.Path(sys.argv[2]).read_text().split())
    check_names(deploy, exposed, sys.argv[3])
    check_monitors(deploy)


if __name__ == "__main__":
    main()
