//! Fuzz target: reading `apt-get -s` output from any text never panics, and every install it
//! reads has a name and a version.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let sim = ward_patch::apt_sim::parse(&text);
    for inst in &sim.installs {
        assert!(!inst.name.is_empty() && !inst.name.contains(' '));
        let _ = inst.is_security();
    }
    assert!(sim.unmet.iter().all(|n| !n.is_empty() && !n.contains(' ')));
});
