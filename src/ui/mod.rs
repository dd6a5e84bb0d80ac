//! Presentation: renderers of the engine's progress and prompts.
