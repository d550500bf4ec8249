"""r4u: record every LLM call a program makes. `import r4u; r4u.enable()`."""
