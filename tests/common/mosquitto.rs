//! A Mosquitto of our own for the external-broker tests: on a free port, with the configuration
//! docs/mqtt.md gives, never the machine's instance on 1883.

use super::{services, wait_for};

/// A Mosquitto of our own on a free port, configured as docs/mqtt.md says, that the test can
/// restart.
pub struct OwnMosquitto {
    program: std::path::PathBuf,
    config: std::path::PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: std::process::Child,
}

impl OwnMosquitto {
    /// Starts `program` with the configuration in a fresh config file under `dir`.
    pub fn start(program: std::path::PathBuf, dir: &std::path::Path) -> OwnMosquitto {
        let port = services::free_port();
        let config = dir.join("mosquitto.conf");
        let store = dir.join("mosquitto-store");
        std::fs::create_dir_all(&store).expect("store dir");
        std::fs::write(
            &config,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\nuser root\npersistence true\npersistence_location {}/\n\
                 autosave_interval 1\nmax_queued_messages 0\nmax_inflight_messages 1000\n",
                store.display()
            ),
        )
        .expect("config written");
        let child = Self::spawn(&program, &config, port);
        OwnMosquitto { program, config, port, child }
    }

    fn spawn(program: &std::path::Path, config: &std::path::Path, port: u16) -> std::process::Child {
        let child = std::process::Command::new(program)
            .arg("-c")
            .arg(config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        wait_for("mosquitto to listen", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        child
    }

    /// Stops it cleanly (it saves its sessions and queued messages) and starts it again.
    pub fn restart(&mut self) {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        self.child.wait().expect("mosquitto exits");
        self.child = Self::spawn(&self.program, &self.config, self.port);
    }
}

impl Drop for OwnMosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
