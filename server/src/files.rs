//! Reading inputs and writing outputs safely.
//!
//! Outputs are written to a temporary file beside the target and renamed into place, so a failed or
//! interrupted run never leaves a half-written file where a good one was.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file that could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {action}: {source}")]
pub struct FileError {
    pub path: PathBuf,
    pub action: &'static str,
    #[source]
    pub source: std::io::Error,
}

/// Reads a whole text file. `-` reads standard input.
pub fn read_text(path: &Path) -> Result<String, FileError> {
    let err = |source, action| FileError {
        path: path.to_path_buf(),
        action,
        source,
    };
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| err(e, "cannot read standard input"))?;
        buf
    } else {
        std::fs::read(path).map_err(|e| err(e, "cannot read"))?
    };
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        err(
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not UTF-8 text (invalid byte at offset {at})"),
            ),
            "cannot read",
        )
    })
}

/// Writes a whole file atomically. `-` writes standard output.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    let err = |source, action| FileError {
        path: path.to_path_buf(),
        action,
        source,
    };
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(contents)
            .and_then(|_| out.flush())
            .map_err(|e| err(e, "cannot write"));
    }
    // A device, pipe or socket (`/dev/null`, a FIFO) is written to, never replaced.
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(contents))
            .map_err(|e| err(e, "cannot write"));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e, "cannot write"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.geojson");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// Regression: `-o /dev/null` once replaced the device with a regular file.
    #[test]
    fn writing_to_a_device_writes_through_and_leaves_it_a_device() {
        use std::os::unix::fs::FileTypeExt;
        write_atomic(Path::new("/dev/null"), b"discarded").unwrap();
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(meta.file_type().is_char_device());
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir").join("out.geojson");
        assert!(write_atomic(&p, b"x").is_err());
    }

    #[test]
    fn non_utf8_input_names_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.geojson");
        std::fs::write(&p, b"{\"a\":\"\xff\"}").unwrap();
        let e = read_text(&p).unwrap_err().to_string();
        assert!(e.contains("bad.geojson") && e.contains("offset 6"), "{e}");
    }
}
