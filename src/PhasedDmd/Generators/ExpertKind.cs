namespace PhasedDmd.Generators;

/// <summary>Full copies of the teacher, or LoRA adapters on a frozen copy of it.</summary>
public enum ExpertKind { Full, Lora }
