"""llmcloud's cache of parsed data files (components/yamldata.load_file, components/cachedir.py), and the
offline engine's skipped stack traces."""

from __future__ import annotations

import datetime
import os
import pickle

import pytest
from llmcloud.components import cachedir, yamldata


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMCLOUD_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "data"


def test_a_data_file_is_parsed_once_and_read_back_until_it_changes(tmp_path, cache):
    data = tmp_path / "catalog.yaml"
    data.write_text("as_of: 2026-12-01\nprices: {a: 1.5}\n")
    first = yamldata.load_file(data)
    assert first == {"as_of": datetime.date(2026, 12, 1), "prices": {"a": 1.5}}
    (kept,) = cache.glob("*.pickle")
    kept.write_bytes(pickle.dumps({"from": "cache"}))  # proves the next read comes from the cache
    assert yamldata.load_file(data) == {"from": "cache"}
    data.write_text("as_of: 2026-12-02\n")  # a changed file is a new key: parsed again
    os.utime(data, ns=(1, 2))
    assert yamldata.load_file(data) == {"as_of": datetime.date(2026, 12, 2)}


def test_a_broken_cache_entry_is_parsed_again(tmp_path, cache):
    data = tmp_path / "d.yaml"
    data.write_text("k: v\n")
    yamldata.load_file(data)
    (kept,) = cache.glob("*.pickle")
    kept.write_bytes(b"\x80\x05garbage")
    assert yamldata.load_file(data) == {"k": "v"}


def test_a_syntax_error_names_the_file(tmp_path, cache):
    data = tmp_path / "bad.yaml"
    data.write_text("k: [unclosed\n")
    with pytest.raises(Exception, match=r"bad\.yaml"):
        yamldata.load_file(data)
    assert not cache.exists() or not list(cache.glob("*.pickle"))  # nothing kept for a file that failed


def test_cache_off_and_unwritable_cache_keep_nothing(tmp_path, monkeypatch):
    data = tmp_path / "d.yaml"
    data.write_text("k: v\n")
    monkeypatch.setenv("LLMCLOUD_CACHE_DIR", "off")
    assert cachedir.path("data") is None and yamldata.load_file(data) == {"k": "v"}
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    monkeypatch.setenv("LLMCLOUD_CACHE_DIR", str(blocker))  # a file where the directory should be
    assert yamldata.load_file(data) == {"k": "v"}


def test_the_libyaml_dumper_writes_what_safe_dump_means():
    import yaml

    value = {"lua": "-- a long line " * 200 + "\n  with 'quotes' and \"doubles\"\n", "n": [1, 2.5, None, True]}
    assert yaml.safe_load(yamldata.dump(value, sort_keys=False, width=1000)) == value


def test_offline_capture_restores_the_runtimes_stack_traces():
    import pulumi
    import pulumi.runtime.resource as resource
    from llmcloud.components.engine import offline

    real = resource._get_stack_trace
    seen = []

    def program():
        seen.append(resource._get_stack_trace)
        pulumi.CustomResource("test:index:Thing", "thing", {"a": 1})

    steps, _ = offline.capture(program, "t")
    assert "test:index:Thing" in [s.type for s in steps]
    assert seen[0] is not real and resource._get_stack_trace is real
    assert len(seen[0]().frames) == 0
