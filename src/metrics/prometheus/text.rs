//! The text format itself: a family is its `# HELP` and `# TYPE` lines,
//! then its samples, and [`Out::family`] is the one place that writes
//! them. A [`Table`] describes families whose samples come from a list
//! of items (one per disk, per interface, ...).

use std::fmt::Write;

#[derive(Clone, Copy)]
pub(super) enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// What a family's `# HELP` and `# TYPE` lines say.
pub(super) struct Family<'a> {
    pub name: &'a str,
    pub kind: Kind,
    pub help: &'a str,
}

impl<'a> Family<'a> {
    pub const fn counter(name: &'a str, help: &'a str) -> Self {
        Family {
            name,
            kind: Kind::Counter,
            help,
        }
    }

    pub const fn gauge(name: &'a str, help: &'a str) -> Self {
        Family {
            name,
            kind: Kind::Gauge,
            help,
        }
    }
}

/// A sample's labels, in the order they are written.
pub(super) type Labels = Vec<(&'static str, String)>;

/// A sample: its labels and its value.
pub(super) type Sample = (Labels, f64);

pub(super) struct Out {
    text: String,
}

impl Out {
    pub fn new() -> Self {
        Out {
            text: String::with_capacity(16 * 1024),
        }
    }

    pub fn finish(self) -> String {
        self.text
    }

    /// The family's header, then its samples; the header even when there
    /// are no samples.
    pub fn family(&mut self, family: &Family, samples: impl IntoIterator<Item = Sample>) {
        let Family { name, kind, help } = family;
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
        for (labels, value) in samples {
            self.sample(name, &labels, value);
        }
    }

    /// As [`Out::family`], but a family without samples is left out.
    pub fn family_if_any(&mut self, family: &Family, samples: impl IntoIterator<Item = Sample>) {
        let mut samples = samples.into_iter().peekable();
        if samples.peek().is_some() {
            self.family(family, samples);
        }
    }

    /// A family of one sample without labels; left out without a value.
    pub fn single(&mut self, family: &Family, value: Option<f64>) {
        self.family_if_any(family, value.map(|v| (Labels::new(), v)));
    }

    fn sample(&mut self, name: &str, labels: &[(&str, String)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{k}=\"{}\"", escape(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", number(value));
    }
}

/// A family: its name, its help and each item's value (`None`: the item
/// has no sample in it).
pub(super) type Row<T> = (&'static str, &'static str, fn(&T) -> Option<f64>);

/// Families of one kind whose samples are a list's items, in the order
/// of the rows; an item is labelled by `labels`, and one it gives no
/// labels for has no samples. A family no item has a value for is left
/// out.
pub(super) struct Table<T: 'static> {
    kind: Kind,
    labels: fn(&T) -> Option<Labels>,
    rows: &'static [Row<T>],
}

impl<T: 'static> Table<T> {
    pub const fn counters(labels: fn(&T) -> Option<Labels>, rows: &'static [Row<T>]) -> Self {
        Table {
            kind: Kind::Counter,
            labels,
            rows,
        }
    }

    pub const fn gauges(labels: fn(&T) -> Option<Labels>, rows: &'static [Row<T>]) -> Self {
        Table {
            kind: Kind::Gauge,
            labels,
            rows,
        }
    }

    pub fn write(&self, o: &mut Out, items: &[T]) {
        for &(name, help, value) in self.rows {
            let family = Family {
                name,
                kind: self.kind,
                help,
            };
            let samples = items
                .iter()
                .filter_map(|item| Some(((self.labels)(item)?, value(item)?)));
            o.family_if_any(&family, samples);
        }
    }
}

/// No labels, for a table over one item.
pub(super) fn no_labels<T>(_: &T) -> Option<Labels> {
    Some(Labels::new())
}

pub(super) fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(super) fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}
