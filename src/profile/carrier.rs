//! The carrier model's parameters, as profile data: per channel, how long a
//! delivery takes to be sent and to reach its final status, how often it fails
//! or is undelivered, and how often (WhatsApp) it is read. The shell's carrier
//! (`sim::carrier`) draws from these with the Carrier random stream. A
//! profile without SMS (`carriers: null`) or without WhatsApp
//! (`carriers.whatsapp: null`) has no carrier for it.

use serde::{Deserialize, Serialize};

use crate::rules::Route;

/// One channel's carrier. Probabilities are parts per million.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarrierModel {
    /// Whether the carrier reports `sent` before the final status (Twilio
    /// does; ACS delivery reports carry only the final status).
    pub sent_receipt: bool,
    /// Latency from queued to sent, uniform in min..=max.
    pub sent_ms_min: u64,
    /// The longest latency from queued to sent, in milliseconds.
    pub sent_ms_max: u64,
    /// Latency from sent (or queued) to the final status, uniform in min..=max.
    pub final_ms_min: u64,
    /// The longest latency to the final status, in milliseconds.
    pub final_ms_max: u64,
    /// Chance that a delivery fails, in parts per million.
    pub failed_ppm: u32,
    /// Chance that a delivery is undelivered, in parts per million.
    pub undelivered_ppm: u32,
    /// Chance that a delivered message is later read (0: no read receipts).
    pub read_ppm: u32,
    /// The shortest latency from delivered to read, in milliseconds.
    pub read_ms_min: u64,
    /// The longest latency from delivered to read, in milliseconds.
    pub read_ms_max: u64,
    /// The detail code of each final status (ACS: 2000, 5000, 4006).
    pub delivered_code: u16,
    /// The code of a `failed` receipt.
    pub failed_code: u16,
    /// The code of an `undelivered` receipt.
    pub undelivered_code: u16,
}

/// The carriers of a profile, by channel (MMS goes through the SMS carrier).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carriers {
    /// The SMS and MMS carrier.
    pub sms: CarrierModel,
    /// `None`: the profile has no WhatsApp.
    pub whatsapp: Option<CarrierModel>,
}

impl Carriers {
    /// The carrier of `route`, if the profile has one.
    pub fn for_route(&self, route: Route) -> Option<&CarrierModel> {
        match route {
            Route::Sms | Route::Mms => Some(&self.sms),
            Route::Whatsapp => self.whatsapp.as_ref(),
        }
    }

    /// Twilio: sent then delivered, failed or undelivered; WhatsApp is also
    /// read. Codes: 30003 unreachable, 30008 unknown error (Twilio's
    /// messaging codes; the reference gives none).
    pub fn twilio() -> Carriers {
        let sms = CarrierModel {
            sent_receipt: true,
            sent_ms_min: 100,
            sent_ms_max: 1_000,
            final_ms_min: 1_000,
            final_ms_max: 5_000,
            failed_ppm: 10_000,
            undelivered_ppm: 10_000,
            read_ppm: 0,
            read_ms_min: 0,
            read_ms_max: 0,
            delivered_code: 0,
            failed_code: 30008,
            undelivered_code: 30003,
        };
        let whatsapp = CarrierModel {
            read_ppm: 500_000,
            read_ms_min: 5_000,
            read_ms_max: 600_000,
            ..sms.clone()
        };
        Carriers {
            sms,
            whatsapp: Some(whatsapp),
        }
    }

    /// ACS SMS: one delivery report with the final status and its detail code
    /// (A11: 2000 delivered, 5000 failed, 4006 unreachable). No WhatsApp: ACS
    /// chat has no WhatsApp participants and the simulator no ACS WhatsApp
    /// call.
    pub fn acs() -> Carriers {
        // The same latencies and odds as Twilio's (both gap choices); no
        // `sent` receipt, and ACS's detail codes.
        let sms = CarrierModel {
            sent_receipt: false,
            sent_ms_min: 0,
            sent_ms_max: 0,
            delivered_code: 2000,
            failed_code: 5000,
            undelivered_code: 4006,
            ..Carriers::twilio().sms
        };
        Carriers {
            sms,
            whatsapp: None,
        }
    }

    /// Checks the model's own consistency.
    pub fn validate(&self) -> Result<(), String> {
        let models = [
            ("sms", Some(&self.sms)),
            ("whatsapp", self.whatsapp.as_ref()),
        ];
        for (name, m) in models.into_iter().filter_map(|(n, m)| Some((n, m?))) {
            if m.sent_ms_min > m.sent_ms_max
                || m.final_ms_min > m.final_ms_max
                || m.read_ms_min > m.read_ms_max
            {
                return Err(format!("carriers.{name}: a latency has min above max"));
            }
            if u64::from(m.failed_ppm) + u64::from(m.undelivered_ppm) > 1_000_000
                || m.read_ppm > 1_000_000
            {
                return Err(format!(
                    "carriers.{name}: probabilities over one million ppm"
                ));
            }
        }
        Ok(())
    }
}
