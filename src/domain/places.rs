//! Places: the Belgian and French postcodes with the coordinates of their sections
//! (GeoNames, CC BY 4.0; see `assets/geo/NOTICE`), shipped inside the binary and read
//! once. A postcode is where a resident or a volunteer lives; the distance between two
//! is the great-circle distance between their centroids, good to a kilometre or so:
//! enough for "who lives near", not for a route. A postcode missing from the table is an
//! error at the edge ([`Places::find`]), never a silent 0 km.

use std::collections::HashMap;
use std::sync::LazyLock;

const TABLE: &str = include_str!("../../assets/geo/places.csv");

/// A point on the map, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Latitude, north positive.
    pub lat: f64,
    /// Longitude, east positive.
    pub lon: f64,
}

impl Point {
    /// The great-circle distance to `other`, in kilometres (haversine).
    #[must_use]
    pub fn km_to(self, other: Point) -> f64 {
        const EARTH_KM: f64 = 6371.0;
        let (la1, la2) = (self.lat.to_radians(), other.lat.to_radians());
        let dla = la2 - la1;
        let dlo = (other.lon - self.lon).to_radians();
        let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
        2.0 * EARTH_KM * h.sqrt().asin()
    }
}

/// One postcode: its sections and its centre.
#[derive(Debug, Clone)]
pub struct Postcode {
    /// The code (`4020`, `13140`).
    pub code: String,
    /// Its sections or villages, in the table's order, with their coordinates.
    pub sections: Vec<(String, Point)>,
    /// The mean of its sections' coordinates.
    pub centre: Point,
}

impl Postcode {
    /// "4020 Bressoux, Jupille-Sur-Meuse, Liège, Wandre": what a volunteer is told before
    /// accepting (the neighbourhood, not the person).
    #[must_use]
    pub fn label(&self) -> String {
        let names: Vec<&str> = self.sections.iter().map(|(n, _)| n.as_str()).collect();
        format!("{} {}", self.code, names.join(", "))
    }

    /// The point of `section` (by name, any case), or the centre without one.
    ///
    /// # Errors
    /// A section the postcode does not have: the message lists those it has.
    pub fn point(&self, section: Option<&str>) -> Result<Point, String> {
        let Some(wanted) = section.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(self.centre) };
        self.sections.iter().find(|(n, _)| n.eq_ignore_ascii_case(wanted)).map(|(_, p)| *p).ok_or_else(|| {
            let names: Vec<&str> = self.sections.iter().map(|(n, _)| n.as_str()).collect();
            format!("postcode {} has no section `{wanted}` (it has {})", self.code, names.join(", "))
        })
    }
}

/// Every known postcode.
#[derive(Debug)]
pub struct Places {
    by_code: HashMap<String, Postcode>,
}

static BUILTIN: LazyLock<Places> = LazyLock::new(|| Places::parse(TABLE));

impl Places {
    /// The table shipped with the service (Belgium and France), read on first use.
    #[must_use]
    pub fn builtin() -> &'static Places {
        &BUILTIN
    }

    /// Reads `postcode,place,latitude,longitude` rows after a header; malformed rows are
    /// skipped (the shipped table has none: a test reads it whole).
    #[must_use]
    pub fn parse(table: &str) -> Self {
        let mut by_code: HashMap<String, Postcode> = HashMap::new();
        for row in table.lines().skip(1) {
            let mut cells = row.split(',');
            let (Some(code), Some(place), Some(lat), Some(lon)) =
                (cells.next(), cells.next(), cells.next(), cells.next())
            else {
                continue;
            };
            let (Ok(lat), Ok(lon)) = (lat.parse::<f64>(), lon.parse::<f64>()) else { continue };
            let entry = by_code.entry(code.to_owned()).or_insert_with(|| Postcode {
                code: code.to_owned(),
                sections: Vec::new(),
                centre: Point { lat: 0.0, lon: 0.0 },
            });
            entry.sections.push((place.to_owned(), Point { lat, lon }));
        }
        for postcode in by_code.values_mut() {
            #[allow(clippy::cast_precision_loss)]
            let n = postcode.sections.len() as f64;
            let (lat, lon) =
                postcode.sections.iter().fold((0.0, 0.0), |(a, b), (_, p)| (a + p.lat, b + p.lon));
            postcode.centre = Point { lat: lat / n, lon: lon / n };
        }
        Self { by_code }
    }

    /// Every postcode of `country` (`BE`: four digits, `FR`: five), sorted; `None` for a
    /// country the table does not hold.
    #[must_use]
    pub fn of_country(&self, country: &str) -> Option<Vec<String>> {
        let digits = match country {
            "BE" => 4,
            "FR" => 5,
            _ => return None,
        };
        let mut codes: Vec<String> = self
            .by_code
            .keys()
            .filter(|c| c.len() == digits && c.chars().all(|d| d.is_ascii_digit()))
            .cloned()
            .collect();
        codes.sort();
        Some(codes)
    }

    /// The postcode `code`.
    ///
    /// # Errors
    /// A code the table does not know, named in the message.
    pub fn find(&self, code: &str) -> Result<&Postcode, String> {
        let code = code.trim();
        self.by_code
            .get(code)
            .ok_or_else(|| format!("unknown postcode `{code}` (Belgian or French postcodes only)"))
    }

    /// How many postcodes the table holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    /// Whether the table is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_holds_every_belgian_and_french_postcode() {
        let places = Places::builtin();
        let rows = TABLE.lines().count() - 1;
        let kept: usize = places.by_code.values().map(|p| p.sections.len()).sum();
        assert_eq!(kept, rows, "every row of the table reads");
        assert!(places.len() > 20_000, "{}", places.len());
        let liege = places.find("4020").unwrap();
        assert_eq!(liege.sections.len(), 4, "{:?}", liege.sections);
        assert!(liege.label().contains("Wandre"));
        assert!(places.find("13140").unwrap().label().contains("Miramas"));
    }

    #[test]
    fn distances_between_liege_sections_are_a_few_kilometres() {
        let places = Places::builtin();
        let bressoux = places.find("4020").unwrap().point(Some("bressoux")).unwrap();
        let grivegnee = places.find("4030").unwrap().centre;
        let verviers = places.find("4800").unwrap().centre;
        let km = bressoux.km_to(grivegnee);
        assert!((1.5..3.5).contains(&km), "{km}");
        let far = bressoux.km_to(verviers);
        assert!((18.0..26.0).contains(&far), "{far}");
        assert!(bressoux.km_to(bressoux).abs() < 1e-9);
    }

    #[test]
    fn an_unknown_postcode_or_section_is_an_error_naming_it() {
        let places = Places::builtin();
        assert!(places.find("9999").unwrap_err().contains("9999"));
        assert!(places.find("4020").unwrap().point(Some("Paris")).unwrap_err().contains("Wandre"));
    }
}
