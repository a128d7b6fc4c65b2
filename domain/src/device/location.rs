//! Where a device stands, for maps.

use serde::{Deserialize, Serialize};

/// A point on the WGS 84 ellipsoid, in degrees.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Latitude, -90 to 90.
    pub lat: f64,
    /// Longitude, -180 to 180.
    pub lon: f64,
}

impl Location {
    /// Why the point is not on the globe, if it is not.
    pub fn problem(&self) -> Option<String> {
        if !(self.lat.is_finite() && (-90.0..=90.0).contains(&self.lat)) {
            return Some(format!("latitude {} is not between -90 and 90", self.lat));
        }
        if !(self.lon.is_finite() && (-180.0..=180.0).contains(&self.lon)) {
            return Some(format!("longitude {} is not between -180 and 180", self.lon));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_must_be_on_the_globe() {
        assert_eq!(Location { lat: 48.1, lon: 11.6 }.problem(), None);
        assert!(Location { lat: 91.0, lon: 0.0 }.problem().is_some());
        assert!(Location { lat: 0.0, lon: -180.5 }.problem().is_some());
        assert!(Location { lat: f64::NAN, lon: 0.0 }.problem().is_some());
    }
}
