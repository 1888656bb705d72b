//! Archives in and out: `.tar.gz` both ways, and the zip a `.reqifz` is. Reading
//! refuses, before anything is made, what could write outside its folder or exhaust
//! the server: a path that climbs out (`..`) or starts at the root, a link of any kind,
//! a path twice, a name or a Markdown file that is not UTF-8, more than [`MAX_ENTRIES`] entries, or
//! more than [`MAX_UNPACKED`] bytes once unpacked (a zip bomb stops there, unread).

use std::cell::Cell;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::Component;
use std::rc::Rc;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::content::MAX_CONTENT_BYTES;
use crate::error::{Error, Result};

/// How many entries (files, folders) an archive may hold.
pub const MAX_ENTRIES: usize = 5_000;
/// How many bytes an archive may unpack to.
pub const MAX_UNPACKED: u64 = 64 * 1024 * 1024;

/// A file of an archive: a relative path with `/` between its parts, and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub text: String,
}

impl File {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> File {
        File { path: path.into(), text: text.into() }
    }
}

fn refused(why: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("this archive cannot be imported: {why}; nothing was imported"))
}

/// The text files of a `.tar.gz` that `wanted` names (other files are named in
/// `skipped`, unread).
pub fn read_tar_gz(bytes: &[u8], wanted: impl Fn(&str) -> bool) -> Result<(Vec<File>, Vec<String>)> {
    let over = Rc::new(Cell::new(false));
    let unpacked = Limited { inner: GzDecoder::new(bytes), left: MAX_UNPACKED, over: Rc::clone(&over) };
    let mut archive = tar::Archive::new(unpacked);
    // A read that fails is a damaged archive, unless it is the limit that stopped it.
    let broken = |_| match over.get() {
        true => refused(format!("it unpacks to more than {} MiB", MAX_UNPACKED / (1024 * 1024))),
        false => refused("it is not a .tar.gz archive, or it is damaged or cut short"),
    };
    let (mut files, mut skipped) = (Vec::new(), Vec::new());
    let mut seen = HashSet::new();
    for (count, entry) in archive.entries().map_err(broken)?.enumerate() {
        if count >= MAX_ENTRIES {
            return Err(refused(format!("it holds more than {MAX_ENTRIES} entries")));
        }
        let mut entry = entry.map_err(broken)?;
        let path =
            std::str::from_utf8(&entry.path_bytes()).map_err(|_| refused("a file name in it is not UTF-8"))?.to_owned();
        let path = relative(&path)?;
        let kind = entry.header().entry_type();
        // `git archive` begins with a global header (the commit); macOS adds `._*` files.
        if kind == tar::EntryType::XGlobalHeader
            || path.starts_with("__MACOSX/")
            || path.split('/').any(|part| part.starts_with("._"))
        {
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(refused(format!("`{path}` is a link")));
        }
        if kind.is_dir() || path.is_empty() {
            continue;
        }
        if !kind.is_file() {
            return Err(refused(format!("`{path}` is not a plain file")));
        }
        if !seen.insert(path.clone()) {
            return Err(refused(format!("`{path}` is in it twice")));
        }
        if !wanted(&path) {
            skipped.push(path);
            continue;
        }
        if entry.size() > MAX_CONTENT_BYTES as u64 {
            return Err(refused(format!("`{path}` is larger than a document may be")));
        }
        let mut raw = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut raw).map_err(broken)?;
        if raw.len() as u64 != entry.size() {
            return Err(refused("it is cut short"));
        }
        let text = String::from_utf8(raw).map_err(|_| refused(format!("`{path}` is not UTF-8 text")))?;
        if text.contains('\0') {
            return Err(refused(format!("`{path}` holds a NUL character")));
        }
        files.push(File { path, text });
    }
    Ok((files, skipped))
}

/// A reader that fails once more than `left` bytes have come through it.
struct Limited<R> {
    inner: R,
    left: u64,
    over: Rc<Cell<bool>>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        match self.left.checked_sub(read as u64) {
            Some(left) => {
                self.left = left;
                Ok(read)
            }
            None => {
                self.over.set(true);
                Err(std::io::Error::other("over the size limit"))
            }
        }
    }
}

/// `path` as a relative path inside the archive: `./` and empty parts dropped; refused
/// when it starts at the root or climbs out.
fn relative(path: &str) -> Result<String> {
    if path.starts_with('/') || path.contains('\\') {
        return Err(refused(format!("`{path}` is not a relative path")));
    }
    let mut parts = Vec::new();
    for component in std::path::Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().expect("from a str")),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(refused(format!("`{path}` leads out of the archive's folder")));
            }
        }
    }
    Ok(parts.join("/"))
}

/// `files` as a `.tar.gz`, each readable by everyone, dated `modified` (seconds).
pub fn write_tar_gz(files: &[File], modified: u64) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.text.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(modified);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, &file.path, file.text.as_bytes()).map_err(written)?;
    }
    builder.into_inner().and_then(GzEncoder::finish).map_err(written)
}

/// `files` as a zip archive, deflated.
pub fn write_zip(files: &[File]) -> Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for file in files {
        zip.start_file(file.path.as_str(), options).map_err(written)?;
        zip.write_all(file.text.as_bytes()).map_err(written)?;
    }
    Ok(zip.finish().map_err(written)?.into_inner())
}

fn written(error: impl std::fmt::Display) -> Error {
    Error::internal(format!("writing an archive: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_written_read_back_and_other_files_are_skipped() {
        let files = vec![File::new("specs/001-a/spec.md", "# A\n"), File::new("notes.txt", "x")];
        let markdown = |path: &str| path.ends_with(".md");
        let (read, skipped) = read_tar_gz(&write_tar_gz(&files, 0).unwrap(), markdown).unwrap();
        assert_eq!(read, files[..1]);
        assert_eq!(skipped, ["notes.txt"]);
        assert_eq!(relative("./a//b.md").unwrap(), "a/b.md");
        assert!(relative("a/../../b.md").is_err() && relative("/etc/passwd").is_err());
        assert!(read_tar_gz(b"not an archive", markdown).is_err());
    }

    fn archive(entries: &[(tar::EntryType, &str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
        for (kind, path, text) in entries {
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(*kind);
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, path, text.as_bytes()).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn git_archives_global_header_and_macos_extras_are_passed_over_and_a_path_twice_is_refused() {
        let markdown = |path: &str| path.ends_with(".md");
        let regular = tar::EntryType::Regular;
        let from_git = archive(&[
            (
                tar::EntryType::XGlobalHeader,
                "pax_global_header",
                "52 comment=0123456789abcdef0123456789abcdef01234567\n",
            ),
            (regular, "specs/001-a/spec.md", "# A\n"),
            (regular, "specs/001-a/._spec.md", "\u{0}\u{5}\u{16}\u{7}"),
            (regular, "__MACOSX/specs/x.md", "x"),
        ]);
        let (files, skipped) = read_tar_gz(&from_git, markdown).unwrap();
        assert_eq!(files, [File::new("specs/001-a/spec.md", "# A\n")]);
        assert!(skipped.is_empty(), "{skipped:?}");
        let twice = archive(&[(regular, "a.md", "# one\n"), (regular, "./a.md", "# two\n")]);
        let refused = read_tar_gz(&twice, markdown).unwrap_err().to_string();
        assert!(refused.contains("`a.md` is in it twice"), "{refused}");
    }
}
