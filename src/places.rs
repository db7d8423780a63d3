//! The bureau's counties: the numbered list a worker picks from, the county a channel serves,
//! where a job is.

use serde::{Deserialize, Serialize};

/// A county in the numbered list the worker chooses from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct County {
    pub zh: String,
    pub bo: String,
}

impl County {
    /// The Tibetan name of the county with this Chinese name, if it is one of `counties`.
    pub fn bo_of<'a>(counties: &'a [County], zh: &str) -> Option<&'a str> {
        counties.iter().find(|c| c.zh == zh).map(|c| c.bo.as_str())
    }
}

/// Lhasa's county-level divisions (Tibetan names: native review).
pub fn default_counties() -> Vec<County> {
    [
        ("城关区", "ཁྲིན་ཀོན་ཆུས།"),
        ("堆龙德庆区", "སྟོད་ལུང་བདེ་ཆེན་ཆུས།"),
        ("达孜区", "སྟག་རྩེ་ཆུས།"),
        ("林周县", "ལྷུན་གྲུབ་རྫོང་།"),
        ("当雄县", "འདམ་གཞུང་རྫོང་།"),
        ("尼木县", "སྙེ་མོ་རྫོང་།"),
        ("曲水县", "ཆུ་ཤུར་རྫོང་།"),
        ("墨竹工卡县", "མལ་གྲོ་གུང་དཀར་རྫོང་།"),
    ]
    .into_iter()
    .map(|(zh, bo)| County {
        zh: zh.into(),
        bo: bo.into(),
    })
    .collect()
}
