//! The local model: all-MiniLM-L6-v2 run in this process by candle, on the CPU. Its
//! sentence embedding is the mean of its token outputs (padding left out), scaled to
//! length 1, as the model was trained to be used.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// The model's name as stored beside its vectors.
pub const MODEL: &str = "local:all-MiniLM-L6-v2";
pub const DIMENSIONS: usize = 384;
/// Tokens of a text that count; the model was trained on no more.
const MAX_TOKENS: usize = 256;

pub struct Local {
    model: BertModel,
    tokenizer: Tokenizer,
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
        tokenizer.with_padding(Some(PaddingParams { strategy: PaddingStrategy::BatchLongest, ..Default::default() }));
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
            .map_err(|err| format!("tokenizer: {err}"))?;
        let weights = VarBuilder::from_buffered_safetensors(read("model.safetensors")?, DTYPE, &Device::Cpu)
            .map_err(|err| format!("{}: {err}", dir.join("model.safetensors").display()))?;
        let model = BertModel::load(weights, &config).map_err(|err| format!("the model does not load: {err}"))?;
        Ok(Local { model, tokenizer })
    }

    /// One unit vector per text, in order. CPU-bound: call it off the async runtime.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let inputs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let encodings = self.tokenizer.encode_batch(inputs, true).map_err(|err| format!("tokenizer: {err}"))?;
        self.forward(&encodings).map_err(|err| format!("the model failed: {err}"))
    }

    fn forward(&self, encodings: &[tokenizers::Encoding]) -> candle_core::Result<Vec<Vec<f32>>> {
        let rows = encodings.len();
        // Padded to the batch's longest, so every row has this length.
        let width = encodings[0].get_ids().len();
        let column = |pick: fn(&tokenizers::Encoding) -> &[u32]| {
            let flat: Vec<u32> = encodings.iter().flat_map(|encoding| pick(encoding).iter().copied()).collect();
            Tensor::from_vec(flat, (rows, width), &Device::Cpu)
        };
        let ids = column(tokenizers::Encoding::get_ids)?;
        let types = column(tokenizers::Encoding::get_type_ids)?;
        let mask = column(tokenizers::Encoding::get_attention_mask)?;
        let output = self.model.forward(&ids, &types, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let mean = output.broadcast_mul(&mask)?.sum(1)?.broadcast_div(&mask.sum(1)?)?;
        let unit = mean.broadcast_div(&mean.sqr()?.sum_keepdim(1)?.sqrt()?)?;
        unit.to_vec2()
    }
}
