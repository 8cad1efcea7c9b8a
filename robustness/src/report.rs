//! What a failed scenario leaves behind under `target/robustness/`: the
//! history as JSON, a text timeline, an HTML timeline of each violating
//! key, and the node logs; and the short excerpt printed to the console.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use crate::checker::{CheckReport, Violation};
use crate::history::{History, Op, Outcome};

/// `target/robustness` of this workspace (or of `CARGO_TARGET_DIR`).
pub fn artifacts_root() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("robustness")
}

/// One line per operation: time span, client, kind, key, value, outcome.
pub fn op_line(h: &History, op: &Op) -> String {
    let ret = if op.outcome == Outcome::Unknown {
        format!("{:>9.3}?", op.return_us as f64 / 1e3)
    } else {
        format!("{:>9.3} ", op.return_us as f64 / 1e3)
    };
    let value = match &op.value {
        Some(v) => format!("{v:?}"),
        None if op.kind.is_write() => String::new(),
        None => "absent".into(),
    };
    format!(
        "#{:<6} {:>9.3} .. {ret} ms  {:<14} {:<9} {:<4} {:<22} {:<7} {}",
        op.id,
        op.invoke_us as f64 / 1e3,
        h.clients.get(op.client).map_or("?", |c| c.name.as_str()),
        op.kind.short(),
        op.key,
        value,
        format!("{:?}", op.outcome).to_lowercase(),
        op.detail
    )
}

/// The excerpt of a violation with the nemesis events inside its window.
pub fn excerpt_text(h: &History, v: &Violation) -> String {
    let mut out = format!("{:?} on {:?}: {}\n", v.kind, v.key, v.message);
    let ops: Vec<&Op> = v.excerpt.iter().filter_map(|&i| h.ops.get(i)).collect();
    let (lo, hi) = window(&ops);
    let mut lines: Vec<(u64, String)> = ops.iter().map(|o| (o.invoke_us, op_line(h, o))).collect();
    for e in &h.events {
        if e.at_us + 2_000_000 >= lo && e.at_us <= hi.saturating_add(2_000_000) {
            lines.push((
                e.at_us,
                format!("        {:>9.3} ms  ** {}", e.at_us as f64 / 1e3, e.what),
            ));
        }
    }
    lines.sort_by_key(|(t, _)| *t);
    for (_, l) in lines {
        let _ = writeln!(out, "  {l}");
    }
    out
}

fn window(ops: &[&Op]) -> (u64, u64) {
    let lo = ops.iter().map(|o| o.invoke_us).min().unwrap_or(0);
    let hi = ops
        .iter()
        .map(|o| {
            if o.outcome == Outcome::Unknown {
                o.invoke_us
            } else {
                o.return_us
            }
        })
        .max()
        .unwrap_or(0);
    (lo, hi)
}

/// Write the artifacts of a failed run into a new directory under
/// [`artifacts_root`]; returns it.
pub fn save(
    name: &str,
    h: &History,
    check: &CheckReport,
    final_errors: &[String],
    logs: &[(u32, PathBuf)],
) -> std::io::Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dir = artifacts_root().join(format!("{name}-{stamp}"));
    fs::create_dir_all(&dir)?;
    let json = serde_json::json!({
        "scenario": name,
        "check": check,
        "final_check_errors": final_errors,
        "history": h,
    });
    fs::write(
        dir.join("history.json"),
        serde_json::to_string_pretty(&json)?,
    )?;

    let mut text = String::new();
    for e in final_errors {
        let _ = writeln!(text, "FINAL CHECK: {e}");
    }
    for v in &check.violations {
        let _ = writeln!(text, "{}", excerpt_text(h, v));
    }
    let _ = writeln!(text, "\nfull history ({} ops) and events:", h.ops.len());
    let mut lines: Vec<(u64, String)> =
        h.ops.iter().map(|o| (o.invoke_us, op_line(h, o))).collect();
    for e in &h.events {
        lines.push((
            e.at_us,
            format!("        {:>9.3} ms  ** {}", e.at_us as f64 / 1e3, e.what),
        ));
    }
    lines.sort_by_key(|(t, _)| *t);
    for (_, l) in lines {
        let _ = writeln!(text, "{l}");
    }
    fs::write(dir.join("timeline.txt"), text)?;
    fs::write(dir.join("timeline.html"), html(name, h, check))?;
    for (id, log) in logs {
        let _ = fs::copy(log, dir.join(format!("n{id}.log")));
    }
    Ok(dir)
}

/// An HTML page per run: for each violating key, one row per client with a
/// bar per operation on that key (green ok, grey failed, orange unknown;
/// excerpt operations outlined in red), nemesis events as vertical lines.
fn html(name: &str, h: &History, check: &CheckReport) -> String {
    let mut out = format!(
        "<!doctype html><meta charset=utf-8><title>{name}</title>\
         <style>body{{font:12px monospace}} .row{{position:relative;height:22px;border-bottom:1px solid #eee}}\
         .op{{position:absolute;height:18px;top:2px;overflow:hidden;white-space:nowrap;font-size:10px;border:1px solid #888}}\
         .ok{{background:#bfe8bf}} .fail{{background:#ddd}} .unknown{{background:#ffd59e}} .hit{{border:2px solid red}}\
         .ev{{position:absolute;top:0;bottom:0;border-left:1px dashed blue}} .lab{{width:150px;display:inline-block}}</style>\
         <h1>{name}</h1>"
    );
    for v in &check.violations {
        let _ = write!(
            out,
            "<h2>{:?} on {}</h2><p>{}</p>",
            v.kind,
            esc(&v.key),
            esc(&v.message)
        );
        let ex: Vec<&Op> = v.excerpt.iter().filter_map(|&i| h.ops.get(i)).collect();
        let (lo, hi) = window(&ex);
        let (lo, hi) = (lo.saturating_sub(300_000), hi + 300_000);
        let span = (hi - lo).max(1) as f64;
        let px = |t: u64| (t.clamp(lo, hi) - lo) as f64 / span * 1400.0;
        let _ = write!(
            out,
            "<div style='position:relative;margin-left:150px;width:1400px'>"
        );
        for e in h.events.iter().filter(|e| e.at_us >= lo && e.at_us <= hi) {
            let _ = write!(
                out,
                "<div class=ev style='left:{:.0}px' title='{}'></div>",
                px(e.at_us),
                esc(&e.what)
            );
        }
        let _ = write!(out, "</div>");
        for (ci, c) in h.clients.iter().enumerate() {
            let ops: Vec<&Op> = h
                .ops_on(&v.key)
                .filter(|o| o.client == ci && o.invoke_us <= hi && o.return_us >= lo)
                .collect();
            if ops.is_empty() {
                continue;
            }
            let _ = write!(
                out,
                "<div class=row><span class=lab>{}</span>",
                esc(&c.name)
            );
            for o in ops {
                let x = 150.0 + px(o.invoke_us);
                let w = (px(o.return_us) - px(o.invoke_us)).max(3.0);
                let class = format!("{:?}", o.outcome).to_lowercase();
                let hit = if v.excerpt.contains(&o.id) {
                    " hit"
                } else {
                    ""
                };
                let label = format!("{} {}", o.kind.short(), o.value.as_deref().unwrap_or("∅"));
                let _ = write!(
                    out,
                    "<div class='op {class}{hit}' style='left:{x:.0}px;width:{w:.0}px' title='{}'>{}</div>",
                    esc(&op_line(h, o)),
                    esc(&label)
                );
            }
            let _ = write!(out, "</div>");
        }
        let _ = write!(out, "<pre>{}</pre>", esc(&excerpt_text(h, v)));
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#39;")
}
