//! The local model: all-MiniLM-L6-v2 run in this process by candle, on the CPU. Its
//! sentence embedding is the mean of its token outputs (padding left out), scaled to
//! length 1, as the model was trained to be used.

use std::ops::Range;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use tokenizers::utils::padding::pad_encodings;
use tokenizers::{Encoding, PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// The model's name as stored beside its vectors.
pub const MODEL: &str = "local:all-MiniLM-L6-v2";
pub const DIMENSIONS: usize = 384;
/// Tokens of a text that count; the model was trained on no more.
const MAX_TOKENS: usize = 256;
/// Texts × width² a forward pass may take at once. Each attention layer holds tensors
/// of texts × heads × width² floats: sixteen texts of the full width took several of
/// 50 MB each, hundreds of MB at the peak, which stayed in the process. Two full-width
/// texts at a time keep each under 7 MB; short texts still go many at once.
const ATTENTION_BUDGET: usize = 2 * MAX_TOKENS * MAX_TOKENS;

pub struct Local {
    model: BertModel,
    /// Without padding: each group of texts is padded to its own longest.
    tokenizer: Tokenizer,
    padding: PaddingParams,
}

impl Local {
    /// Loads the model folder (`config.json`, `tokenizer.json`, `model.safetensors`).
    pub fn load(dir: &Path) -> Result<Local, String> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|err| format!("cannot read {}: {err}", dir.join(name).display()))
        };
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .map_err(|err| format!("{}: {err}", dir.join("config.json").display()))?;
        if config.hidden_size != DIMENSIONS {
            return Err(format!("expected a model of {DIMENSIONS} dimensions, found {}", config.hidden_size));
        }
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|err| format!("{}: {err}", dir.join("tokenizer.json").display()))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
            .map_err(|err| format!("tokenizer: {err}"))?;
        let weights = VarBuilder::from_buffered_safetensors(read("model.safetensors")?, DTYPE, &Device::Cpu)
            .map_err(|err| format!("{}: {err}", dir.join("model.safetensors").display()))?;
        let model = BertModel::load(weights, &config).map_err(|err| format!("the model does not load: {err}"))?;
        let padding = PaddingParams { strategy: PaddingStrategy::BatchLongest, ..Default::default() };
        Ok(Local { model, tokenizer, padding })
    }

    /// One unit vector per text, in order. CPU-bound: call it off the async runtime.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        let inputs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut encodings = self.tokenizer.encode_batch(inputs, true).map_err(|err| format!("tokenizer: {err}"))?;
        // Shortest first, so that texts of like length share their padding.
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].len());
        let lengths: Vec<usize> = order.iter().map(|&i| encodings[i].len()).collect();
        let mut vectors = vec![Vec::new(); texts.len()];
        for group in groups(&lengths, ATTENTION_BUDGET) {
            let mut batch: Vec<Encoding> =
                order[group.clone()].iter().map(|&i| std::mem::take(&mut encodings[i])).collect();
            pad_encodings(&mut batch, &self.padding).map_err(|err| format!("tokenizer: {err}"))?;
            let embedded = self.forward(&batch).map_err(|err| format!("the model failed: {err}"))?;
            for (&i, vector) in order[group].iter().zip(embedded) {
                vectors[i] = vector;
            }
        }
        Ok(vectors)
    }

    /// Embeds texts padded to one width.
    fn forward(&self, encodings: &[Encoding]) -> candle_core::Result<Vec<Vec<f32>>> {
        let rows = encodings.len();
        // Padded to the batch's longest, so every row has this length.
        let width = encodings[0].get_ids().len();
        let column = |pick: fn(&Encoding) -> &[u32]| {
            let flat: Vec<u32> = encodings.iter().flat_map(|encoding| pick(encoding).iter().copied()).collect();
            Tensor::from_vec(flat, (rows, width), &Device::Cpu)
        };
        let ids = column(Encoding::get_ids)?;
        let types = column(Encoding::get_type_ids)?;
        let mask = column(Encoding::get_attention_mask)?;
        let output = self.model.forward(&ids, &types, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let mean = output.broadcast_mul(&mask)?.sum(1)?.broadcast_div(&mask.sum(1)?)?;
        let unit = mean.broadcast_div(&mean.sqr()?.sum_keepdim(1)?.sqrt()?)?;
        unit.to_vec2()
    }
}

/// Splits texts of ascending `lengths` into runs, in order, whose count × longest² stays
/// within `budget`; a text over it on its own goes alone.
fn groups(lengths: &[usize], budget: usize) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    for (end, &length) in lengths.iter().enumerate() {
        if end > start && (end + 1 - start) * length * length > budget {
            groups.push(start..end);
            start = end;
        }
    }
    if start < lengths.len() {
        groups.push(start..lengths.len());
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_order_and_stay_within_the_budget() {
        let lengths = [3, 5, 5, 8, 9, 20];
        let found = groups(&lengths, 100);
        assert_eq!(found, vec![0..3, 3..4, 4..5, 5..6], "a text over the budget goes alone");
        for group in &found {
            let longest = lengths[group.end - 1];
            assert!(group.len() == 1 || group.len() * longest * longest <= 100, "{group:?}");
        }
        assert_eq!(groups(&[4; 6], 1000), vec![0..6], "short texts go together");
        assert!(groups(&[], 100).is_empty());
    }

    /// The model `scripts/bootstrap` fetches, where the server looks for it.
    fn model() -> Local {
        let dir = std::env::var("CHARTER_MODEL_DIR").ok().filter(|dir| !dir.is_empty()).unwrap_or_else(|| {
            format!("{}/.cache/charter/models/all-MiniLM-L6-v2", std::env::var("HOME").unwrap_or_default())
        });
        Local::load(Path::new(&dir)).expect("the local model (scripts/bootstrap fetches it)")
    }

    fn distance(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn a_text_embeds_alike_alone_and_among_texts_of_other_lengths() {
        let model = model();
        // Different words at different widths, from a few tokens to past the cut at 256,
        // so that the batch takes several passes and a text put back in the wrong place
        // shows.
        let texts: Vec<String> = vec![
            "The checkout keeps the customer's cart when the payment provider times out. ".repeat(15),
            "Refunds".into(),
            "Reviewers approve a change request before it merges into main. ".repeat(9),
            "An incident from Alertmanager links to the requirement it breaks. ".repeat(30),
            "Search finds a requirement by what it means. ".repeat(4),
            "Every edit another person saw is stored before it is shown. ".repeat(12),
        ];
        let together = model.embed(&texts).unwrap();
        assert_eq!(together.len(), texts.len());
        for (text, vector) in texts.iter().zip(&together) {
            let alone = model.embed(std::slice::from_ref(text)).unwrap();
            assert_eq!(vector.len(), DIMENSIONS);
            assert!(distance(vector, &alone[0]) < 1e-4, "{text:.40}: {}", distance(vector, &alone[0]));
        }
        for (i, a) in together.iter().enumerate() {
            for b in &together[i + 1..] {
                assert!(distance(a, b) > 0.01, "different texts, different vectors");
            }
        }
        assert!(model.embed(&[]).unwrap().is_empty());
    }
}
