//! The loader's figures: a demand load of `hello` and where its
//! instructions go (the loader's own record, `ILoader::last_load_cost`),
//! its unloading, and the parse of a large image.

use core::hint::black_box;

use com::{Result, Status};
use interfaces::ILoader;
use interfaces::module::load_phases;

use crate::{Meter, RUNS};

/// The loader service.
fn loader() -> Result<com::ComPtr<ILoader>> {
    component::namespace()?
        .bind("/sys/loader", 0)?
        .query::<ILoader>()
}

/// Unloads every module nothing uses, so a figure starts from a namespace
/// without them.
pub fn collect_idle() -> Result<()> {
    loader()?.collect_idle()
}

pub fn demand_load(meter: &Meter) -> Result<u64> {
    Ok(fastest_demand_load(meter)?.0)
}

/// Phase `PHASE` of the fastest demand load of `/hello`.
pub fn load_phase<const PHASE: usize>(meter: &Meter) -> Result<u64> {
    Ok(fastest_demand_load(meter)?.1[PHASE])
}

/// What the fastest demand load of `/hello` spent outside the phases.
pub fn load_rest(meter: &Meter) -> Result<u64> {
    let (total, phases) = fastest_demand_load(meter)?;
    Ok(total.saturating_sub(phases.iter().sum()))
}

/// Instructions per phase of one load.
type LoadCost = [u64; load_phases::COUNT as usize];

/// The instructions of the fastest of `RUNS` demand loads of `/hello`
/// (the bind, to the object in hand), and that load's phases.
fn fastest_demand_load(meter: &Meter) -> Result<(u64, LoadCost)> {
    let root = component::namespace()?;
    let loader = loader()?;
    let mut fastest = (u64::MAX, LoadCost::default());
    for _ in 0..RUNS {
        loader.collect_idle()?;
        let start = meter.now();
        let object = root.bind("/hello", 0);
        let spent = meter.now() - start;
        object?;
        if spent < fastest.0 {
            let mut phases = LoadCost::default();
            for (phase, cost) in (0..).zip(&mut phases) {
                *cost = loader.last_load_cost(phase)?;
            }
            fastest = (spent, phases);
        }
    }
    loader.collect_idle()?;
    Ok(fastest)
}

pub fn release_and_unload(meter: &Meter) -> Result<u64> {
    let root = component::namespace()?;
    let loader = loader()?;
    let mut figure = u64::MAX;
    for _ in 0..RUNS {
        loader.collect_idle()?;
        let object = root.bind("/hello", 0)?;
        let start = meter.now();
        drop(object);
        loader.collect_idle()?;
        figure = figure.min(meter.now() - start);
    }
    Ok(figure)
}

/// The exports of the large image `parse_large_image` validates.
const LARGE_EXPORTS: u32 = 10_000;

/// `Image::parse` of an image with `LARGE_EXPORTS` exports, built here.
pub fn parse_large_image(meter: &Meter) -> Result<u64> {
    let exports = (1..=LARGE_EXPORTS)
        .map(|ordinal| (ordinal, alloc::format!("export_{ordinal:05}"), 0))
        .collect();
    let bytes = image::ImageBuilder {
        name: "large".into(),
        content: alloc::vec![0x13, 0, 0, 0],
        memory_size: 4,
        text_size: 4,
        read_only_end: 4,
        align: 4,
        entry: 0,
        exports: alloc::vec![image::ExportTableSpec {
            uuid: com::Guid::from_u128(1),
            exports,
        }],
        ..Default::default()
    }
    .build();
    let mut failure = None;
    let figure = meter.measure(|| {
        failure = failure.or(image::Image::parse(black_box(&bytes)).err());
    });
    // The shell reports the failure; the image is built right here, so
    // a parse error can only mean the reader and writer disagree.
    failure.map_or(Ok(figure), |_| Err(Status::BAD_IMAGE))
}
