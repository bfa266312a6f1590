//! The exercise-catalog parser: one TOML file through `Catalog::from_files`
//! (server/exercise/catalog.rs), as a teacher's new file would be loaded at start.
//! Property: no panic; a bad file is an error naming the file. The file is `fuzzed.toml`, so
//! the seeds (the real exercises, texts shortened) say `id = "fuzzed"` to get past the
//! file-name check into the rest of the validation.

#![no_main]

use libfuzzer_sys::fuzz_target;
use plugboard::exercise::catalog::Catalog;

const FILE: &str = "fuzzed.toml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Catalog::from_files([(FILE, text)]) {
        Ok(catalog) => assert!(catalog.len() <= 1),
        Err(e) => assert_eq!(e.file, FILE),
    }
});
