//! The NASA C-MAPSS text format: one row per engine and operating cycle, space separated
//! (unit, cycle, 3 operational settings, 21 sensors). Engines are devices, cycles are time and
//! the 24 settings and sensors are metrics.

/// Columns after unit and cycle: 3 operational settings and 21 sensors.
pub const MEASURES: usize = 24;

/// One engine's cycles, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineRun {
    /// The engine's unit number.
    pub unit: u32,
    /// One row of [`MEASURES`] values per cycle.
    pub cycles: Vec<[f64; MEASURES]>,
}

/// Why a C-MAPSS file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmapssError {
    /// A row has the wrong number of columns or a value that is not a number.
    #[error("line {line}: {reason}")]
    Row {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A unit's cycles are not numbered 1, 2, 3, ...
    #[error("line {line}: unit {unit} jumps from cycle {previous} to {cycle}")]
    CycleOrder {
        /// 1-based line number.
        line: usize,
        /// The unit.
        unit: u32,
        /// The cycle before.
        previous: u32,
        /// This cycle.
        cycle: u32,
    },
    /// The truth file is not one number per line.
    #[error("truth line {line}: {reason}")]
    Truth {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Parses a train or test file. A first line of column names is skipped; blank lines are
/// ignored; rows of one unit must be consecutive and numbered from cycle 1.
pub fn parse_runs(text: &str) -> Result<Vec<EngineRun>, CmapssError> {
    let mut runs: Vec<EngineRun> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if index == 0 && fields[0].parse::<f64>().is_err() {
            continue;
        }
        if fields.len() < 2 + MEASURES {
            return Err(CmapssError::Row {
                line: number,
                reason: format!("{} columns, expected {}", fields.len(), 2 + MEASURES),
            });
        }
        let integer = |column: usize| {
            fields[column].parse::<u32>().map_err(|_| CmapssError::Row {
                line: number,
                reason: format!("column {} is not a whole number: {:?}", column + 1, fields[column]),
            })
        };
        let (unit, cycle) = (integer(0)?, integer(1)?);
        let mut values = [0.0; MEASURES];
        for (slot, field) in values.iter_mut().zip(&fields[2..2 + MEASURES]) {
            *slot = field
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| CmapssError::Row { line: number, reason: format!("{field:?} is not a number") })?;
        }
        match runs.last_mut() {
            Some(run) if run.unit == unit => {
                let previous = run.cycles.len() as u32;
                if cycle != previous + 1 {
                    return Err(CmapssError::CycleOrder { line: number, unit, previous, cycle });
                }
                run.cycles.push(values);
            }
            _ => {
                if cycle != 1 {
                    return Err(CmapssError::CycleOrder { line: number, unit, previous: 0, cycle });
                }
                runs.push(EngineRun { unit, cycles: vec![values] });
            }
        }
    }
    Ok(runs)
}

/// Parses a truth file: the true remaining cycles of each test engine, one per line, after an
/// optional header line (the official files begin with `RUL`).
pub fn parse_truth(text: &str) -> Result<Vec<f64>, CmapssError> {
    let header = text.lines().find(|line| !line.trim().is_empty()).filter(|line| is_header(line));
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .skip(usize::from(header.is_some()))
        .map(|(index, line)| {
            line.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).ok_or_else(|| CmapssError::Truth {
                line: index + 1,
                reason: format!("{:?} is not a cycle count", line.trim()),
            })
        })
        .collect()
}

/// Whether a truth file's first line is a column name (letters), not a cycle count.
fn is_header(line: &str) -> bool {
    let line = line.trim();
    line.chars().next().is_some_and(char::is_alphabetic) && line.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Writes runs in the same text format (space separated, no header).
pub fn format_runs(runs: &[EngineRun]) -> String {
    let mut text = String::new();
    for run in runs {
        for (cycle, values) in run.cycles.iter().enumerate() {
            text.push_str(&format!("{} {}", run.unit, cycle + 1));
            for value in values {
                text.push_str(&format!(" {value}"));
            }
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(unit: u32, cycle: u32) -> String {
        let values: Vec<String> = (0..MEASURES).map(|i| format!("{}.5", i + cycle as usize)).collect();
        format!("{unit} {cycle} {}", values.join(" "))
    }

    #[test]
    fn runs_round_trip_and_a_header_is_skipped() {
        let text = format!("unit cycle ...\n{}\n{}\n\n{}\n", row(1, 1), row(1, 2), row(2, 1));
        let runs = parse_runs(&text).expect("valid");
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].cycles.len(), 2);
        assert_eq!(runs[0].cycles[1][0], 2.5);
        assert_eq!(parse_runs(&format_runs(&runs)).expect("round trip"), runs);
    }

    #[test]
    fn bad_rows_are_named_by_line() {
        assert!(matches!(parse_runs(&format!("{}\n1 2 3", row(1, 1))), Err(CmapssError::Row { line: 2, .. })));
        let gap = format!("{}\n{}", row(1, 1), row(1, 3));
        assert!(matches!(parse_runs(&gap), Err(CmapssError::CycleOrder { line: 2, previous: 1, cycle: 3, .. })));
        let nan = row(1, 1).replace("3.5", "nan");
        assert!(matches!(parse_runs(&nan), Err(CmapssError::Row { line: 1, .. })));
        assert_eq!(parse_truth("112\n98\n\n69\n").expect("valid"), vec![112.0, 98.0, 69.0]);
        assert!(matches!(parse_truth("12\n-3\n"), Err(CmapssError::Truth { line: 2, .. })));
        assert_eq!(parse_truth("RUL\n112\n98\n").expect("the official header"), vec![112.0, 98.0]);
        assert!(matches!(parse_truth("RUL\n112\nRUL\n"), Err(CmapssError::Truth { line: 3, .. })), "one header only");
        assert!(matches!(parse_truth("1e\n"), Err(CmapssError::Truth { line: 1, .. })), "a bad number is no header");
    }
}
