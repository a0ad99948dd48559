//! The deployment of `deploy/` on its engines, for real where this machine can:
//!
//! - **Slurm**: a single-node Slurm (Debian's `slurmctld`, `slurmd` and `munge`, started here
//!   in a temporary folder with a generated `slurm.conf`, as root) runs `deploy/slurm/submit.sh`:
//!   four array tasks each race built-in mocks as one shard, the dependent merge job merges them
//!   and judges the race's threshold on the merged race, and the merged folder's counts, token
//!   totals and percentiles are checked against the shards' own per-request records. Every daemon is stopped at the end.
//! - **Kubernetes**: no cluster runs here, so the kustomization is rendered (`kubectl
//!   kustomize`, offline) and every object validated against the Kubernetes API's schemas
//!   (PyPI's `kubernetes-validate`, which bundles them); N set in its one place must reach every
//!   field that holds it. The rendered pods' commands are then run here as the kubelet would
//!   give them: the shards race and the merge pod's script merges them.
//!
//! Ignored by default: they need those packages. `.ci/run` installs them and runs
//! `cargo test --test deploy -- --ignored`. `LLMRACE_KUBERNETES_VALIDATE` names the validator
//! (`.ci/run` puts it in a venv under target/).
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const LLMRACE: &str = env!("CARGO_BIN_EXE_llmrace");
const PATIENCE: Duration = Duration::from_secs(180);
const SHARDS: u32 = 4;
/// Requests per endpoint of the whole race (each shard sends a quarter).
const REQUESTS: u64 = 40;
/// The API key of the test's race, in the `--keys` file only.
const SECRET: &str = "sk-slurm-test-7f3a91c2";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A daemon killed when dropped, so a failed assertion still stops it.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs a command to its end; its output, whatever its exit status.
fn run(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"))
}

/// Polls until `done` gives a value, failing the test after [`PATIENCE`].
fn until<T>(what: &str, mut done: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = done() {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The first of `n` consecutive ports free now, below Linux's ephemeral range (32768 up): the
/// kernel hands out no port there by itself, so another shard's own listeners and connections
/// cannot take one between this check and the shards binding them (a base picked with port 0 is
/// in that range, and a shard found its port taken).
fn free_ports_below_ephemeral(n: u32) -> u16 {
    let n = u16::try_from(n).unwrap();
    (20_000..32_000u16)
        .step_by(usize::from(n) + 7)
        .find(|&base| {
            (base..base + n).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        })
        .expect("a free run of ports below 32768")
}

fn installed(program: &str) -> String {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let path = Path::new(dir).join(program);
        if path.exists() {
            return path.display().to_string();
        }
    }
    panic!("{program} is not installed: apt-get install slurmctld slurmd slurm-client munge")
}

/// A single-node Slurm cluster in `dir`: munged, slurmctld and slurmd, this machine its node
/// (2 CPUs, shared by up to 4 jobs so that the four shards run at once).
struct Slurm {
    conf: PathBuf,
    // Dropped in reverse: slurmd, slurmctld, then munged.
    _daemons: Vec<Daemon>,
}

impl Slurm {
    fn start(dir: &Path) -> Slurm {
        for sub in ["state", "spool", "log"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let key: Vec<u8> = (0..128u32)
            .map(|i| u8::try_from((i * 7919 + 13) % 251).unwrap())
            .collect();
        let key_file = dir.join("munge.key");
        std::fs::write(&key_file, key).unwrap();
        std::fs::set_permissions(
            &key_file,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let socket = dir.join("munge.sock");
        let munged = Command::new(installed("munged"))
            .arg("--foreground")
            .arg("--force")
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--key-file={}", key_file.display()))
            .arg(format!("--pid-file={}", dir.join("munged.pid").display()))
            .arg(format!("--seed-file={}", dir.join("munged.seed").display()))
            .arg(format!(
                "--log-file={}",
                dir.join("log/munged.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut daemons = vec![Daemon(munged)];
        until("munged's socket", || socket.exists().then_some(()));

        let host = String::from_utf8(run(Command::new("hostname").arg("-s")).stdout).unwrap();
        let host = host.trim();
        let conf = dir.join("slurm.conf");
        let d = dir.display();
        std::fs::write(
            &conf,
            format!(
                "ClusterName=llmrace-test\n\
                 SlurmctldHost={host}(127.0.0.1)\n\
                 SlurmctldPort={ctld}\n\
                 SlurmdPort={slurmd}\n\
                 SlurmUser=root\n\
                 SlurmdUser=root\n\
                 AuthType=auth/munge\n\
                 AuthInfo=socket={socket}\n\
                 CredType=cred/munge\n\
                 StateSaveLocation={d}/state\n\
                 SlurmdSpoolDir={d}/spool\n\
                 SlurmctldPidFile={d}/slurmctld.pid\n\
                 SlurmdPidFile={d}/slurmd.pid\n\
                 SlurmctldLogFile={d}/log/slurmctld.log\n\
                 SlurmdLogFile={d}/log/slurmd.log\n\
                 ProctrackType=proctrack/linuxproc\n\
                 TaskPlugin=task/none\n\
                 JobAcctGatherType=jobacct_gather/none\n\
                 AccountingStorageType=accounting_storage/none\n\
                 MpiDefault=none\n\
                 SelectType=select/cons_tres\n\
                 SelectTypeParameters=CR_Core\n\
                 ReturnToService=2\n\
                 NodeName={host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n\
                 PartitionName=race Nodes={host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4\n",
                ctld = free_port(),
                slurmd = free_port(),
                socket = socket.display(),
            ),
        )
        .unwrap();
        for (name, args) in [("slurmctld", &["-D", "-i"][..]), ("slurmd", &["-D"][..])] {
            let child = Command::new(installed(name))
                .args(args)
                .arg("-f")
                .arg(&conf)
                .env("SLURM_CONF", &conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            daemons.push(Daemon(child));
        }
        let slurm = Slurm {
            conf,
            _daemons: daemons,
        };
        until("the node to be idle", || {
            let state = run(slurm.command("sinfo").args(["-h", "-o", "%T"]));
            (String::from_utf8_lossy(&state.stdout).trim() == "idle").then_some(())
        });
        slurm
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SLURM_CONF", &self.conf);
        command
    }

    /// A job's state once it has ended (`COMPLETED`, `FAILED`, `CANCELLED`, …).
    fn ended(&self, job: &str) -> String {
        until(&format!("job {job} to end"), || {
            let shown = text(&run(self
                .command("scontrol")
                .args(["show", "job", "-o", job])));
            let state = shown
                .split_whitespace()
                .find_map(|field| field.strip_prefix("JobState="))?
                .to_string();
            (!matches!(
                state.as_str(),
                "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING"
            ))
            .then_some(state)
        })
    }
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Milliseconds as the records write them (three decimals) in whole microseconds.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "latencies are positive and far below 2^52 µs"
)]
fn micros(ms: f64) -> u64 {
    (ms * 1000.0).round() as u64
}

/// The nearest-rank quantile `per_mille`/1000 of sorted values, the rank an HDR histogram's
/// `value_at_quantile` picks.
fn nearest_rank(sorted: &[u64], per_mille: usize) -> u64 {
    let rank = (per_mille * sorted.len())
        .div_ceil(1000)
        .clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Every Slurm log of the run, for a failure's message.
fn logs(results: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(results.join("logs"))
        .into_iter()
        .flatten()
    {
        let path = entry.unwrap().path();
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = writeln!(all, "== {}\n{log}", path.display());
    }
    all
}

/// Runs `deploy/slurm/submit.sh`, the key in a `--keys` file, shard K's metrics on loopback
/// port `metrics` + K; the shards' and the merge's job ids.
fn submit(
    slurm: &Slurm,
    race: &Path,
    keys: &Path,
    results: &Path,
    metrics: u16,
) -> (String, String) {
    let submitted = run(slurm
        .command(root().join("deploy/slurm/submit.sh").to_str().unwrap())
        .args(["-n", &SHARDS.to_string(), "--start-in", "5s", "--keys"])
        .arg(keys)
        .args(["--metrics-port", &format!("127.0.0.1:{metrics}")])
        .arg(race)
        .arg(results)
        .env("LLMRACE", LLMRACE));
    let said = text(&submitted);
    assert!(submitted.status.success(), "submit.sh failed:\n{said}");
    let job = |label: &str| {
        said.lines()
            .find_map(|line| line.strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().nth(1))
            .unwrap_or_else(|| panic!("no `{label} job N` in:\n{said}"))
            .trim_end_matches(',')
            .to_string()
    };
    (job("shards:"), job("merge:"))
}

/// Each shard ran its quarter as shard K of 4 and measured its start; all their records.
fn shard_records(results: &Path) -> Vec<Value> {
    let mut all = Vec::new();
    for k in 0..SHARDS {
        let folder = results.join(format!("shard-{k}"));
        let run_json = json(&folder.join("run.json"));
        let shard = &run_json["shard"];
        assert_eq!(shard["index"], k, "{run_json:#}");
        assert_eq!(shard["count"], SHARDS, "{run_json:#}");
        assert!(shard["start_skew_ms"].is_number(), "{run_json:#}");
        let summary = json(&folder.join("summary.json"));
        for endpoint in summary["endpoints"].as_array().unwrap() {
            assert_eq!(
                endpoint["counts"]["sent"],
                REQUESTS / u64::from(SHARDS),
                "{endpoint:#}"
            );
        }
        all.extend(records(&folder.join("requests.jsonl")));
    }
    all
}

/// One endpoint of the merged `summary.json` against the shards' records put together: the
/// counts and output tokens exactly, the percentiles to the histograms' resolution (three
/// significant digits: a bucket at most 1/1024 of its value wide).
fn check_merged_endpoint(endpoint: &Value, shard_records: &[Value]) {
    let name = endpoint["name"].as_str().unwrap();
    let mine: Vec<&Value> = shard_records
        .iter()
        .filter(|r| r["endpoint_name"] == name && r["warmup"] == false)
        .collect();
    let ok: Vec<&Value> = mine
        .iter()
        .copied()
        .filter(|r| r["outcome"] == "succeeded")
        .collect();
    let counts = &endpoint["counts"];
    assert_eq!(counts["sent"], REQUESTS, "{name}: {counts:#}");
    assert_eq!(counts["sent"], mine.len() as u64, "{name}");
    assert_eq!(counts["succeeded"], ok.len() as u64, "{name}");
    let output: u64 = ok.iter().filter_map(|r| r["output_tokens"].as_u64()).sum();
    assert_eq!(endpoint["tokens"]["output"], output, "{name}");

    for metric in ["ttft_ms", "ttlt_ms"] {
        let mut values: Vec<u64> = ok
            .iter()
            .filter_map(|r| r[metric].as_f64())
            .map(micros)
            .collect();
        values.sort_unstable();
        let quoted = &endpoint["latency"][metric];
        assert_eq!(quoted["count"], values.len() as u64, "{name} {metric}");
        for (key, per_mille) in [("p50", 500), ("p90", 900), ("p99", 990), ("max", 1000)] {
            let want = nearest_rank(&values, per_mille);
            let got = micros(quoted[key].as_f64().unwrap());
            assert!(
                want <= got && got <= want + want / 1024 + 1,
                "{name} {metric} {key}: merged {got} µs, the records' {want} µs"
            );
        }
    }
}

#[test]
#[ignore = "needs Debian's slurmctld, slurmd and munge, run as root; .ci/run runs it"]
fn a_slurm_job_array_races_as_shards_and_the_dependent_job_merges_and_judges_them() {
    let dir = tempfile::tempdir().unwrap();
    let slurm = Slurm::start(&dir.path().join("slurm"));
    let race = dir.path().join("race.toml");
    std::fs::write(
        &race,
        format!(
            "name = \"slurm-e2e\"\n\
             [workload]\nbuiltin = \"chat\"\nmax_tokens = 16\n\
             [load]\nrequests = {REQUESTS}\nconcurrency = 4\n\
             [thresholds]\nfail_if = [\"slow: ttft.p50 > 1ms\"]\n\
             [[endpoint]]\nname = \"fast\"\nprotocol = \"openai\"\nbase_url = \"mock://turbo,tokens=16\"\n\
             api_key_env = \"LLMRACE_SLURM_TEST_KEY\"\n\
             [[endpoint]]\nname = \"slow\"\nprotocol = \"anthropic\"\nbase_url = \"mock://steady,tokens=8,ttft=60ms\"\n"
        ),
    )
    .unwrap();
    // A key the shards read from a file on the node: it never passes through Slurm.
    let keys = dir.path().join("keys.env");
    std::fs::write(&keys, format!("LLMRACE_SLURM_TEST_KEY={SECRET}\n")).unwrap();
    std::fs::set_permissions(&keys, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let results = dir.path().join("results");
    // Four shards on one node, each serving its metrics: on ports of their own, none fails.
    let metrics = free_ports_below_ephemeral(SHARDS);
    let (array, merge) = submit(&slurm, &race, &keys, &results, metrics);
    // The race's threshold fails (the slow mock's TTFT is 60 ms): each shard exits 1 on its
    // share, the merge runs all the same (afterany) and fails on the merged race, exit 1.
    let state = slurm.ended(&merge);
    let said = logs(&results);
    assert_eq!(
        state, "FAILED",
        "merge job {merge} (after {array}):\n{said}"
    );
    let exit = text(&run(slurm
        .command("scontrol")
        .args(["show", "job", "-o", &merge])));
    assert!(exit.contains(" ExitCode=1:0"), "{exit}\n{said}");
    assert!(said.contains("slow: ttft.p50 > 1ms"), "{said}");
    for k in 0..SHARDS {
        let port = u32::from(metrics) + k;
        assert!(
            said.contains(&format!("shard {k}/{SHARDS} on ")),
            "shard {k}'s node:\n{said}"
        );
        assert!(
            said.contains(&format!("metrics on port {port}")),
            "shard {k}'s port:\n{said}"
        );
    }

    let shard_records = shard_records(&results);
    // The merged folder: every shard listed, none missing, all the requests.
    let merged = results.join("merged");
    let run_json = json(&merged.join("run.json"));
    assert_eq!(
        run_json["shards"].as_array().map(Vec::len),
        Some(SHARDS as usize),
        "{run_json:#}"
    );
    assert!(
        run_json["missing_shards"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{run_json:#}"
    );
    let merged_records = records(&merged.join("requests.jsonl"));
    assert_eq!(merged_records.len(), shard_records.len());
    let summary = json(&merged.join("summary.json"));
    let endpoints = summary["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2, "{summary:#}");
    for endpoint in endpoints {
        check_merged_endpoint(endpoint, &shard_records);
    }

    // The key reached no file: not Slurm's state, spool or logs, not the results.
    let leaks = files_holding(dir.path(), SECRET.as_bytes(), &keys);
    assert!(leaks.is_empty(), "the key is in {leaks:?}");
}

/// Every file under `dir` (but `except`) whose bytes hold `needle` (the replays are gzip and
/// llmrace's own tests check them; this is about files written in clear).
fn files_holding(dir: &Path, needle: &[u8], except: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path != except
                && std::fs::read(&path)
                    .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            {
                found.push(path);
            }
        }
    }
    found
}

fn kubectl_kustomize(dir: &Path) -> String {
    let rendered = run(Command::new("kubectl").arg("kustomize").arg(dir));
    assert!(
        rendered.status.success(),
        "kubectl kustomize {}:\n{}",
        dir.display(),
        text(&rendered)
    );
    String::from_utf8(rendered.stdout).unwrap()
}

fn validate(manifests: &str, version: &str) {
    let validator = std::env::var("LLMRACE_KUBERNETES_VALIDATE")
        .unwrap_or_else(|_| "kubernetes-validate".to_string());
    let path = std::env::temp_dir().join(format!("llmrace-manifests-{}.yaml", std::process::id()));
    std::fs::write(&path, manifests).unwrap();
    let checked = run(Command::new(&validator)
        .args(["--strict", "--kubernetes-version", version])
        .arg(&path));
    let said = text(&checked);
    let _ = std::fs::remove_file(&path);
    assert!(
        checked.status.success() && !said.contains("ERROR") && !said.contains("WARN"),
        "{validator} (Kubernetes {version}):\n{said}"
    );
    // Five objects: the two ConfigMaps, the volume claim, the two Jobs.
    assert_eq!(said.matches("passed for resource").count(), 5, "{said}");
}

/// The value of the first `key: value` line after `after` in rendered YAML.
fn field<'a>(yaml: &'a str, after: &str, key: &str) -> &'a str {
    let from = yaml
        .find(after)
        .unwrap_or_else(|| panic!("no {after} in:\n{yaml}"));
    yaml[from..]
        .lines()
        .find_map(|line| line.trim().strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} after {after}"))
        .trim()
}

#[test]
#[ignore = "needs kubectl and PyPI's kubernetes-validate; .ci/run runs it"]
fn the_kubernetes_manifests_render_and_validate_with_n_set_in_one_place() {
    let base = root().join("deploy/kubernetes");
    let rendered = kubectl_kustomize(&base);
    // backoffLimitPerIndex is beta (on by default) from 1.29: the oldest version supported.
    for version in ["1.29.0", "1.37.0"] {
        validate(&rendered, version);
    }
    assert_eq!(
        field(&rendered, "name: llmrace-shards", "completions:"),
        "4"
    );
    assert_eq!(
        field(&rendered, "name: llmrace-shards", "parallelism:"),
        "4"
    );
    assert_eq!(field(&rendered, "- name: SHARDS", "value:"), "\"4\"");
    assert!(rendered.contains("completionMode: Indexed"));
    // The shards spread over nodes where there are nodes (soft), and need the keys' Secret.
    let objects = objects(&rendered);
    let pod = &object(&objects, "Job", "llmrace-shards")["spec"]["template"]["spec"];
    let spread = &pod["topologySpreadConstraints"][0];
    assert_eq!(spread["topologyKey"], "kubernetes.io/hostname", "{pod:#}");
    assert_eq!(spread["whenUnsatisfiable"], "ScheduleAnyway", "{pod:#}");
    assert_eq!(
        spread["labelSelector"]["matchLabels"]["app.kubernetes.io/component"],
        "shard"
    );
    let secret = pod["containers"][0]["envFrom"]
        .as_array()
        .unwrap()
        .iter()
        .find(|from| from["secretRef"]["name"] == "llmrace-keys")
        .unwrap();
    assert_ne!(secret["secretRef"]["optional"], true, "{secret:#}");
    assert!(rendered.contains("image: registry.example.com/llmrace:0.1.0"));
    // The generated ConfigMaps' hashed names reach the Jobs that mount them.
    let race_map = field(&rendered, "kind: ConfigMap", "name: llmrace-race-");
    assert_eq!(
        rendered
            .matches(&format!("name: llmrace-race-{race_map}"))
            .count(),
        2,
        "the race ConfigMap and the shards' volume:\n{rendered}"
    );
    assert_eq!(
        rendered.matches("name: llmrace-start-").count(),
        3,
        "the start ConfigMap and its two references:\n{rendered}"
    );

    // N changed where the kustomization says reaches every field that holds it.
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&base).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let kustomization = copy.path().join("kustomization.yaml");
    let text = std::fs::read_to_string(&kustomization).unwrap();
    assert_eq!(text.matches("value: 4").count(), 1, "N is written once");
    std::fs::write(&kustomization, text.replace("value: 4", "value: 7")).unwrap();
    let seven = kubectl_kustomize(copy.path());
    validate(&seven, "1.37.0");
    assert_eq!(field(&seven, "name: llmrace-shards", "completions:"), "7");
    assert_eq!(field(&seven, "name: llmrace-shards", "parallelism:"), "7");
    assert_eq!(field(&seven, "- name: SHARDS", "value:"), "\"7\"");
}

/// The rendered manifests as JSON objects, through the validator's own Python (`PyYAML` comes
/// with `kubernetes-validate`).
fn objects(manifests: &str) -> Vec<Value> {
    let validator = std::env::var("LLMRACE_KUBERNETES_VALIDATE")
        .unwrap_or_else(|_| "kubernetes-validate".to_string());
    let python = Path::new(&validator).with_file_name("python");
    let path = std::env::temp_dir().join(format!("llmrace-objects-{}.yaml", std::process::id()));
    std::fs::write(&path, manifests).unwrap();
    let converted = run(Command::new(&python).arg("-c").arg(
        "import sys, json, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)",
    )
    .arg(&path));
    let _ = std::fs::remove_file(&path);
    assert!(converted.status.success(), "{}", text(&converted));
    serde_json::from_slice(&converted.stdout).unwrap()
}

fn object<'a>(objects: &'a [Value], kind: &str, name_prefix: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(name_prefix))
        })
        .unwrap_or_else(|| panic!("no {kind} {name_prefix}"))
}

/// A pod's command line as the kubelet gives it: `$(VAR)` replaced by the container's
/// variables, then the volumes' mount paths by folders of `root` here, and the metrics served
/// on a free loopback port for a moment (four shards share this machine, and tests talk to
/// 127.0.0.1 only).
fn as_here(args: &[Value], env: &BTreeMap<String, String>, root: &Path) -> Vec<String> {
    let mut words: Vec<String> = args
        .iter()
        .map(|arg| {
            let mut arg = arg.as_str().unwrap().to_string();
            for (name, value) in env {
                arg = arg.replace(&format!("$({name})"), value);
            }
            assert!(!arg.contains("$("), "an unset variable in {arg}");
            arg.replace("/race/", &format!("{}/race/", root.display()))
                .replace("/results/", &format!("{}/results/", root.display()))
        })
        .collect();
    for (flag, here) in [
        ("--metrics-addr", "127.0.0.1:0"),
        ("--metrics-linger", "1ms"),
    ] {
        if let Some(at) = words.iter().position(|w| w == flag) {
            words[at + 1] = here.to_string();
        }
    }
    words
}

#[test]
#[ignore = "needs kubectl and PyPI's kubernetes-validate; .ci/run runs it"]
fn the_kubernetes_pods_commands_race_as_shards_and_merge_when_run_here() {
    // The manifests rendered from a copy whose race is short.
    let copy = tempfile::tempdir().unwrap();
    let base = root().join("deploy/kubernetes");
    for entry in std::fs::read_dir(&base).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(
        copy.path().join("race.toml"),
        format!(
            "name = \"k8s-e2e\"\n[workload]\nmax_tokens = 8\n\
             [load]\nrequests = {REQUESTS}\nconcurrency = 4\n\
             [[endpoint]]\nname = \"mock\"\nprotocol = \"openai\"\nbase_url = \"mock://turbo,tokens=8\"\n"
        ),
    )
    .unwrap();
    let start_at = (chrono::Utc::now() + chrono::Duration::seconds(4))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    std::fs::write(
        copy.path().join("start.env"),
        // As run.sh writes them (tests/e2e/deploy.rs checks that): the words in single quotes.
        format!("START_AT={start_at}\nRUN=run-test\nMERGE_FLAGS='--fail-if' 'ttft.p50 > 1us' \n"),
    )
    .unwrap();
    let objects = objects(&kubectl_kustomize(copy.path()));

    // What the volumes hold: the race file from its ConfigMap, an empty results folder.
    let here = tempfile::tempdir().unwrap();
    let race_map = object(&objects, "ConfigMap", "llmrace-race-");
    std::fs::create_dir_all(here.path().join("race")).unwrap();
    std::fs::write(
        here.path().join("race/race.toml"),
        race_map["data"]["race.toml"].as_str().unwrap(),
    )
    .unwrap();
    std::fs::create_dir_all(here.path().join("results")).unwrap();
    let start = object(&objects, "ConfigMap", "llmrace-start-")["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect::<BTreeMap<_, _>>();
    assert_eq!(start["START_AT"], start_at);

    let count = run_shard_pods(&objects, &start, here.path());

    // The merge pod's shell script, llmrace on its PATH as in the image.
    let merge = object(&objects, "Job", "llmrace-merge");
    assert_eq!(merge["spec"]["suspend"], true);
    let container = &merge["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"], serde_json::json!(["/bin/sh", "-c"]));
    let bin = here.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(LLMRACE, bin.join("llmrace")).unwrap();
    let script = as_here(container["args"].as_array().unwrap(), &start, here.path());
    let merged = run(Command::new("/bin/sh")
        .arg("-c")
        .args(&script)
        .envs(&start)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display())));
    // The threshold reached the merge whole, spaces and all, and failed on the merged race:
    // exit 1 (a split expression would be a usage error, exit 2).
    let said = text(&merged);
    assert_eq!(merged.status.code(), Some(1), "the merge:\n{said}");
    assert!(said.contains("ttft.p50 > 1us"), "{said}");
    let summary = json(&here.path().join("results/run-test/merged/summary.json"));
    assert_eq!(
        summary["endpoints"][0]["counts"]["sent"], REQUESTS,
        "{summary:#}"
    );
    let run_json = json(&here.path().join("results/run-test/merged/run.json"));
    assert_eq!(
        run_json["shards"].as_array().map(Vec::len),
        Some(usize::try_from(count).unwrap()),
        "{run_json:#}"
    );
}

/// Runs each shard pod's command here, pod K with its completion index, and waits for all;
/// how many there were.
fn run_shard_pods(objects: &[Value], start: &BTreeMap<String, String>, here: &Path) -> u64 {
    let shards = object(objects, "Job", "llmrace-shards");
    let count = shards["spec"]["completions"].as_u64().unwrap();
    let container = &shards["spec"]["template"]["spec"]["containers"][0];
    let mut children = Vec::new();
    for index in 0..count {
        let mut env = start.clone();
        for var in container["env"].as_array().unwrap() {
            let name = var["name"].as_str().unwrap().to_string();
            let value = if let Some(value) = var["value"].as_str() {
                value.to_string()
            } else {
                let path = var["valueFrom"]["fieldRef"]["fieldPath"].as_str().unwrap();
                assert!(path.contains("job-completion-index"), "{path}");
                index.to_string()
            };
            env.insert(name, value);
        }
        let args = as_here(container["args"].as_array().unwrap(), &env, here);
        children.push(
            Command::new(LLMRACE)
                .args(&args)
                .envs(&env)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "a shard failed:\n{}",
            text(&output)
        );
    }

    count
}
