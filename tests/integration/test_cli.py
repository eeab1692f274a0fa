"""The command line's contracts: refusing untokenizable tails unless tail_approx = chars
(recorded in the run), refusing a changed config under the same run name, resuming under a
new URL, config errors with file:line, several endpoints sharing the load."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import FakeServer, check, db_rows, finish, rsa, tmpdir, traces, write_config  # noqa: E402


def main():
    tmp = tmpdir()
    one = {"problems": "synth/1,synth/2"}

    # no /tokenize and no tokenizer: refuse (exit 2) unless tail_approx = chars
    with FakeServer(tmp, "--no-tokenize") as srv:
        cfg = write_config(tmp, "notok", run=one, backend={"url": srv.url})
        db = os.path.join(tmp, "notok.db")
        r = rsa("run", cfg, "--db", db, "--quiet")
        check(r.returncode == 2, f"no /tokenize: exit {r.returncode}")
        check("tail_approx" in r.stderr and "tokenize" in r.stderr, f"the refusal says what to do: {r.stderr}")
        check(not [x for x in srv.requests() if x["path"].endswith("completions")], "nothing generated")
        r = rsa("run", cfg, "--db", db, "--quiet", "--set", "rsa.tail_approx=chars")
        check(r.returncode == 0, f"tail_approx=chars runs: {r.stderr}")
        method = db_rows(db, "SELECT tail_method FROM runs WHERE name='notok'")[0][0]
        check(method == "chars:4", f"the approximation is recorded: {method}")
        for t in traces(db, "notok"):
            check(len(t["tail"]) <= 8 * 4, "char tails are at most tau*chars_per_token long")
        # tau = 0 needs no tokenizer at all
        r = rsa("run", cfg, "--db", db, "--quiet", "--set", "rsa.tail_tokens=0", "--set", "run.name=whole")
        check(r.returncode == 0, f"tau=0 runs without a tokenizer: {r.stderr}")
        check(all(t["tail"] == t["text"] for t in traces(db, "whole")), "tau=0 carries whole traces")

    with FakeServer(tmp) as a, FakeServer(tmp) as b:
        db = os.path.join(tmp, "cli.db")
        cfg = write_config(tmp, "cli", run=one, backend={"url": f"{a.url},{b.url}", "concurrency": 2})
        r = rsa("run", cfg, "--db", db, "--quiet")
        check(r.returncode == 0, f"two endpoints: {r.stderr}")
        used = {t["endpoint"] for t in traces(db, "cli")}
        check(used == {a.url, b.url}, f"both endpoints served traces: {used}")
        # a different config under the same name is refused, naming the difference
        r = rsa("run", cfg, "--db", db, "--quiet", "--set", "sampling.temperature=0.5")
        check(r.returncode == 2 and "different configuration" in r.stderr, f"conflict refused: {r.stderr}")
        check("temperature" in r.stderr, "the refusal names the changed key")
        # the same config against another server URL is the same run (URLs are not identity)
        r = rsa("run", cfg, "--db", db, "--quiet", "--set", f"backend.url={b.url}")
        check(r.returncode == 0, f"same run, other URL: {r.stderr}")
        manifest = json.loads(db_rows(db, "SELECT manifest FROM runs WHERE name='cli'")[0][0])
        check(len(manifest["templates"]["aggregate"]["sha256"]) == 64, "template hash recorded")
        cfgtext = db_rows(db, "SELECT config, git_rev FROM runs WHERE name='cli'")[0]
        check("temperature = 1" in cfgtext[0] and cfgtext[1], "effective config and git revision stored")

    # config errors: exit 2 with file:line and key
    bad = os.path.join(tmp, "bad.ini")
    for body, want in [("[rsa]\npopulation = 0\n", ":2: rsa.population"),
                       ("[rsa]\nbogus = 1\n", ":2: unknown key 'bogus'"),
                       ("[nope]\nx = 1\n", ":2: unknown section"),
                       ("[sampling]\ntemperature = hot\n", ":2: sampling.temperature"),
                       ("[rsa]\ntail_source = middle\n", ":2: rsa.tail_source")]:
        with open(bad, "w") as f:
            f.write(body)
        r = rsa("config", bad)
        check(r.returncode == 2 and want in r.stderr, f"config error {want!r}: {r.returncode} {r.stderr}")
    r = rsa("config", bad, "--set", "rsa.population=abc")
    check(r.returncode == 2, "bad --set is exit 2")
    r = rsa("config", "--keys")
    check(r.returncode == 0 and "rsa.tail_tokens" in r.stdout, "rsa config --keys lists the keys")
    r = rsa("run", os.path.join(tmp, "missing.ini"))
    check(r.returncode == 2 and "missing.ini" in r.stderr, "a missing config file is named")
    r = rsa("frobnicate")
    check(r.returncode == 2, "unknown command is a usage error")
    finish()


if __name__ == "__main__":
    main()
