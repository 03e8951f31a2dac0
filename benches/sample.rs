//! Cost of one full metrics sample (collect, rates, JSON), median and p99,
//! in wall time and in CPU time; the housekeeping sample (every 5 s:
//! device rediscovery and the process-table scan) is reported on its own. Then, side by side on the same machine: the CPU
//! time of one Prometheus node_exporter scrape (Debian
//! prometheus-node-exporter), against one hearth sample.

use std::time::{Duration, Instant};

use hearth::metrics::collect::{Collector, Roots};
use hearth::metrics::rates::Rates;
use hearth::metrics::sampler::clock_and_page;

fn thread_cpu() -> Duration {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).unwrap();
    Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let (tck, page) = clock_and_page();
    let mut collector = Collector::new(Roots::host(), None);
    let mut rates = Rates::new(tck, page);
    let start = Instant::now();
    let mut sample = |scan: bool| {
        let raw = collector.collect(start.elapsed(), 0, scan);
        let s = rates.next(raw);
        std::hint::black_box(serde_json::to_string(&s).unwrap());
    };
    for _ in 0..200 {
        sample(false);
    }
    let n = 5000;
    let mut wall = Vec::with_capacity(n);
    let mut cpu = Vec::with_capacity(n);
    for _ in 0..n {
        let (w0, c0) = (Instant::now(), thread_cpu());
        sample(false);
        cpu.push(thread_cpu() - c0);
        wall.push(w0.elapsed());
    }
    wall.sort();
    cpu.sort();
    let mut scans = Vec::new();
    for _ in 0..50 {
        let w0 = Instant::now();
        sample(true);
        scans.push(w0.elapsed());
    }
    scans.sort();
    let procs = std::fs::read_dir("/proc")
        .unwrap()
        .filter(|e| {
            e.as_ref().is_ok_and(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
        })
        .count();
    println!("hearth sample ({n} samples, ordinary ticks):");
    println!(
        "  wall median {:.1} µs, p99 {:.1} µs",
        percentile(&wall, 0.5).as_secs_f64() * 1e6,
        percentile(&wall, 0.99).as_secs_f64() * 1e6
    );
    println!(
        "  cpu  median {:.1} µs, p99 {:.1} µs",
        percentile(&cpu, 0.5).as_secs_f64() * 1e6,
        percentile(&cpu, 0.99).as_secs_f64() * 1e6
    );
    println!(
        "hearth housekeeping sample ({procs} processes), every 5 s: median {:.1} µs, p99 {:.1} µs",
        percentile(&scans, 0.5).as_secs_f64() * 1e6,
        percentile(&scans, 0.99).as_secs_f64() * 1e6
    );
    let hearth_cpu = percentile(&cpu, 0.5);
    match node_exporter_scrape_cpu() {
        Ok((per_scrape, bytes)) => {
            println!(
                "node_exporter scrape ({bytes} bytes of metrics): {:.1} µs CPU per scrape (mean of {SCRAPES})",
                per_scrape.as_secs_f64() * 1e6
            );
            println!(
                "ratio node_exporter scrape / hearth sample (CPU time): {:.0}x",
                per_scrape.as_secs_f64() / hearth_cpu.as_secs_f64()
            );
        }
        Err(e) => {
            eprintln!("node_exporter comparison failed: {e}");
            std::process::exit(1);
        }
    }
}

/// Scrapes of node_exporter measured; its CPU time is counted in clock
/// ticks (10 ms), so many scrapes make the mean precise.
const SCRAPES: u32 = 200;

/// Starts node_exporter on a loopback port, scrapes it SCRAPES times after a
/// warm-up, and returns its mean CPU time per scrape.
fn node_exporter_scrape_cpu() -> Result<(Duration, usize), String> {
    let bin = [
        "/usr/bin/prometheus-node-exporter",
        "/usr/bin/node_exporter",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .ok_or("prometheus-node-exporter is missing: apt-get install prometheus-node-exporter")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(bin)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id();
    let scrape = || -> Result<usize, String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let mut body = Vec::new();
        s.read_to_end(&mut body).map_err(|e| e.to_string())?;
        Ok(body.len())
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while scrape().is_err() {
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err("node_exporter did not start".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for _ in 0..5 {
        scrape()?;
    }
    let before = process_cpu(pid)?;
    let mut bytes = 0;
    for _ in 0..SCRAPES {
        bytes = scrape()?;
    }
    // Let its goroutines finish accounting.
    std::thread::sleep(Duration::from_millis(200));
    let used = process_cpu(pid)? - before;
    let _ = child.kill();
    let _ = child.wait();
    Ok((used / SCRAPES, bytes))
}

/// utime + stime of a process.
pub fn process_cpu(pid: u32) -> Result<Duration, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    let after = &stat[stat.rfind(')').ok_or("bad stat")? + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    let (tck, _) = clock_and_page();
    Ok(Duration::from_secs_f64(ticks as f64 / tck as f64))
}
