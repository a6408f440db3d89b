"""The container image and the Kubernetes manifests agree with the project they ship.

No container engine or cluster is available where the tests run, so these checks read the
Dockerfile and the manifests and compare them with pyproject.toml, the package and the CLI.
(.ci/image builds and smoke-tests the image where an engine exists.)
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from scanner.cli.exit_codes import EXIT_OUTPUT, EXIT_USAGE
from scanner.run.shard import K8S_INDEX_ENV, SHARD_PLACEHOLDER
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
KUBERNETES = ROOT / "deploy" / "kubernetes"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def stages() -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


def python_version_arg() -> str:
    (default,) = [args.partition("=")[2] for word, args in instructions()
                  if word == "ARG" and args.startswith("PYTHON_VERSION=")]
    return default


def test_python_version_satisfies_and_matches_pyproject() -> None:
    version = python_version_arg()
    assert Version(version) in SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert version == PYPROJECT["tool"]["mypy"]["python_version"]
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")
    bases = [args.split()[0] for word, args in instructions() if word == "FROM"]
    assert len(bases) >= 2, "multi-stage: build, then a runtime stage"
    assert set(bases) == {"python:${PYTHON_VERSION}-slim-bookworm"}, \
        "every stage on the same slim Python, so the venv's interpreter path exists at runtime"


def test_build_stage_copies_what_the_build_needs_and_installs_only_the_project() -> None:
    build = stages()[0]
    copied = [args.split()[:-1] for word, args in build if word == "COPY"]
    sources = {source for group in copied for source in group}
    project = PYPROJECT["project"]
    packages = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    needed = {"pyproject.toml", project["readme"]} | {p.rstrip("*") for p in packages}
    assert needed <= sources, f"the build needs {needed - sources}"
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for source in sources:
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), \
            f".dockerignore hides {source} from the build"
    commands = " && ".join(args for word, args in build if word == "RUN")
    installs = [shlex.split(part) for part in commands.split("&&") if " install " in part
                or " wheel " in part]
    assert installs, "the build stage installs the project"
    for argv in installs:
        rest = argv[argv.index("install" if "install" in argv else "wheel") + 1:]
        targets = [arg for before, arg in zip(["", *rest[:-1]], rest, strict=True)
                   if not arg.startswith("-") and before != "-r"]
        for target in targets:
            assert target in (".", "/wheels") or target.startswith("/wheels/"), \
                f"{target!r}: dependencies come from the lock file, not the Dockerfile"
        assert "--no-deps" in argv, "only the lock file brings dependencies"
        if "-r" in argv:
            assert argv[argv.index("-r") + 1] == "requirements.lock"
            assert "--require-hashes" in argv
    assert any("-r" in argv for argv in installs), "the image installs the lock file"
    assert "PIP_NO_CACHE_DIR=1" in " ".join(args for word, args in build if word == "ENV")


def test_runtime_stage_is_small_non_root_and_runs_the_entry_point() -> None:
    runtime = stages()[-1]
    runs = " ".join(args for word, args in runtime if word == "RUN")
    assert not re.search(r"\b(apt-get|apk|gcc|make|build-essential)\b", runs), runs
    assert not re.search(r"pip install", runs), "nothing is installed in the runtime stage"
    assert re.search(r"pip uninstall --yes .*\bpip\b", runs), "pip itself is removed"
    copies = [args for word, args in runtime if word == "COPY"]
    assert copies == ["--from=build /opt/mtlsweep /opt/mtlsweep"], "only the venv is copied"
    (user,) = [args for word, args in runtime if word == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a numeric non-root user (runAsNonRoot checks it)"
    (entrypoint,) = [args for word, args in runtime if word == "ENTRYPOINT"]
    assert entrypoint == '["mtlsweep"]'
    assert "mtlsweep" in PYPROJECT["project"]["scripts"]
    (volumes,) = [args for word, args in runtime if word == "VOLUME"]
    assert sorted(yaml.safe_load(volumes)) == ["/config", "/results"]
    readme = (ROOT / "README.md").read_text()
    for volume in ("/config", "/results"):
        assert volume in readme, f"README documents the {volume} volume"


def manifests() -> dict[str, dict]:
    """Every Kubernetes object under deploy/kubernetes (kustomize files aside), by
    ``file:kind``."""
    documents = {}
    for path in sorted(KUBERNETES.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text()):
            documents[f"{path.name}:{document['kind']}"] = document
    return documents


def pod_spec_of(document: dict) -> dict:
    spec = document["spec"]
    return (spec["jobTemplate"]["spec"] if "jobTemplate" in spec else spec)["template"]["spec"]


def sweep_script() -> str:
    container = container_of(pod_spec_of(manifests()["cronjob.yaml:CronJob"]), "mtlsweep")
    assert container["command"] == ["/bin/sh", "-c"]
    (script,) = container["args"]
    return str(script)


def container_of(pod_spec: dict, name: str) -> dict:
    (container,) = [c for c in pod_spec["containers"] if c["name"] == name]
    return container


def test_cronjob_runs_an_indexed_job_whose_shards_match_the_cli() -> None:
    docs = manifests()
    cronjob = docs["cronjob.yaml:CronJob"]
    job = cronjob["spec"]["jobTemplate"]["spec"]
    assert job["completionMode"] == "Indexed"
    pod = job["template"]["spec"]
    container = container_of(pod, "mtlsweep")
    script = sweep_script()
    args = shlex.split(script.split("mtlsweep scan", 1)[1].split("status=")[0])
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert args[1] == '--shards=$SHARDS' or args[1] == "--shards=$SHARDS"
    assert int(env["SHARDS"]) == job["completions"] == job["parallelism"]
    assert K8S_INDEX_ENV not in env, "Kubernetes sets the index itself"
    (output,) = [a.split("=", 1)[1] for a in args if a.startswith("--output=")]
    assert SHARD_PLACEHOLDER in output and "--resume" in args, \
        "each index resumes its own file when its pod is retried"
    for variable in set(re.findall(r"\$\{?([A-Z_]+)", script)) - {K8S_INDEX_ENV}:
        assert variable in env, f"${variable} is not defined for the container"
    assert pod["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    inventory = mounts["/config"]
    assert inventory["readOnly"] is True
    assert volumes[inventory["name"]]["configMap"]["name"] == \
        docs["configmap.yaml:ConfigMap"]["metadata"]["name"]
    assert args[0] == "/config/" + next(iter(docs["configmap.yaml:ConfigMap"]["data"]))
    assert volumes[mounts["/results"]["name"]]["persistentVolumeClaim"]["claimName"] == \
        docs["pvc.yaml:PersistentVolumeClaim"]["metadata"]["name"]
    assert "/tmp" in mounts, "a writable /tmp under a read-only root file system"
    assert pod["restartPolicy"] == "Never", "podFailurePolicy needs it"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    exit_codes = [rule["onExitCodes"]["values"] for rule in job["podFailurePolicy"]["rules"]
                  if "onExitCodes" in rule]
    assert exit_codes == [[EXIT_USAGE, EXIT_OUTPUT]], \
        "usage errors and output I/O errors (a full disk) fail the Job at once; others retry"


def test_manifests_use_the_image_user_and_an_inventory_the_cli_accepts(tmp_path: Path) -> None:
    from scanner.config.inventory_stream import load_inventory
    from scanner.probes import PROBES

    docs = manifests()
    (user,) = [args for word, args in instructions() if word == "USER"]
    for name in ("cronjob.yaml:CronJob", "merge-job.yaml:Job"):
        pod = pod_spec_of(docs[name])
        assert str(pod["securityContext"]["runAsUser"]) == user.split(":")[0]
        assert pod["automountServiceAccountToken"] is False, "no API server access needed"
    for name, text in docs["configmap.yaml:ConfigMap"]["data"].items():
        path = tmp_path / name
        path.write_text(text)
        assert load_inventory(path, known_probes=PROBES).targets


def test_kustomizations_list_their_resources_and_share_one_image_setting() -> None:
    sweep = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert sorted(sweep["resources"]) == ["configmap.yaml", "cronjob.yaml", "pvc.yaml"]
    merge = yaml.safe_load((KUBERNETES / "merge" / "kustomization.yaml").read_text())
    assert merge["resources"] == ["merge-job.yaml"]
    assert sweep["components"] == ["image"] and merge["components"] == ["../image"]
    settings = [path for path in (ROOT / "deploy").rglob("*.yaml")
                if re.search(r"^\s*(newName|newTag):", path.read_text(), re.MULTILINE)]
    assert settings == [KUBERNETES / "image" / "kustomization.yaml"], "one place names it"
    for name, document in manifests().items():
        if document["kind"] in ("CronJob", "Job"):
            images = {c["image"] for c in pod_spec_of(document)["containers"]}
            assert images == {"mtlsweep"}, (name, images)


def rendered(directory: Path) -> list[dict]:
    """What ``kubectl kustomize`` makes of ``directory`` for these files: its resources with
    the image component applied (checked against kubectl itself where it is installed)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    (image,) = yaml.safe_load(
        (directory / kustomization["components"][0] / "kustomization.yaml").read_text()
    )["images"]
    reference = f"{image['newName']}:{image['newTag']}"
    documents = []
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((directory / resource).read_text()):
            if document["kind"] in ("CronJob", "Job"):
                for container in pod_spec_of(document)["containers"]:
                    if container["image"] == image["name"]:
                        container["image"] = reference
            documents.append(document)
    return documents


@pytest.mark.parametrize("directory", [KUBERNETES, KUBERNETES / "merge"],
                         ids=["sweep", "merge"])
def test_manifests_validate_against_kubernetes(directory: Path) -> None:
    """Strict schema validation (kubernetes-validate) against Kubernetes 1.33."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    documents = rendered(directory)
    for document in documents:
        text = yaml.safe_dump(document).replace("RUN_NAME", "run-1")
        kubernetes_validate.validate(yaml.safe_load(text), "1.33.0", strict=True)
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        output = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True,
                                text=True, check=True, timeout=60).stdout
        images = sorted(re.findall(r"image: (\S+)", output))
        assert images == sorted(c["image"] for d in documents if d["kind"] in ("CronJob", "Job")
                                for c in pod_spec_of(d)["containers"])


def test_the_last_shard_merges_the_run(tmp_path: Path) -> None:
    """The CronJob's script, run here for two shards in turn: the first leaves its mark, the
    second finds both and writes merged.jsonl, junit.xml and results.sarif."""
    script = sweep_script()
    results, inventory = tmp_path / "results", tmp_path / "targets.yaml"
    ports = [free_port() for _ in range(3)]
    inventory.write_text("targets:\n" + "".join(f"  - {{host: 127.0.0.1, port: {port}}}\n"
                                               for port in ports))
    local = script.replace("/config/targets.yaml", str(inventory)).replace(
        "run=/results/", f"run={results}/").replace("--concurrency=256",
                                                   "--timeout=2 --probes=client_auth")
    assert local.count(str(results)) == 1 and local.count(str(inventory)) == 3
    env = {**os.environ, "SHARDS": "2", "RUN_ID": "run-1",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    (results / "run-1").mkdir(parents=True)
    run_dir = results / "run-1"
    for index in (0, 1):
        done = subprocess.run(["/bin/sh", "-c", local], env={**env, K8S_INDEX_ENV: str(index)},
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        merged = (run_dir / "merged.jsonl").exists()
        assert merged == (index == 1), f"only the last shard merges ({index})"
    lines = (run_dir / "merged.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["target"]["port"] for line in lines) == sorted(ports)
    junit = ET.parse(run_dir / "junit.xml").getroot()
    assert len(junit.findall(".//testsuite")) == 3
    sarif = json.loads((run_dir / "results.sarif").read_text())
    assert sarif["version"] == "2.1.0"


def test_one_version_source() -> None:
    """pyproject reads the version from ``scanner.__version__``; manifests pin that image tag."""
    from scanner import __version__

    assert "version" not in PYPROJECT["project"], "the version lives in scanner/__init__.py"
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "scanner.__version__"}
    image = yaml.safe_load((KUBERNETES / "image" / "kustomization.yaml").read_text())
    assert [entry["newTag"] for entry in image["images"]] == [__version__]
