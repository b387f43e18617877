namespace PhasedDmd.Data;

/// <summary>
/// The tasks by name. The built-in ones (<c>PhasedDmd.Tasks</c>: the point mixtures, the image and video tasks, the
/// task of imported models) register themselves when the library loads; a task of your own joins them with
/// <see cref="Register"/>. Adding a task is one class and one <see cref="Register"/> call; nothing else names it.
/// </summary>
public static class TaskRegistry
{
    private static readonly Lock Gate = new();
    private static readonly List<ITask> Tasks = [];

    /// <summary>Every registered task, in registration order (the built-in ones first).</summary>
    public static IReadOnlyList<ITask> All
    {
        get { lock (Gate) return [.. Tasks]; }
    }

    /// <summary>Makes a task known by its name. Registering the same object again is harmless; a name taken by another task is an error.</summary>
    public static void Register(ITask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (string.IsNullOrWhiteSpace(task.Name)) throw new ArgumentException("a task needs a non-empty name", nameof(task));
        lock (Gate)
        {
            var existing = Tasks.FirstOrDefault(t => t.Name == task.Name);
            if (existing == task) return;
            if (existing is not null) throw new ArgumentException($"task '{task.Name}' is already registered ({existing.GetType().Name})", nameof(task));
            Tasks.Add(task);
        }
    }

    /// <summary>The task of that name, or null.</summary>
    public static ITask? TryFind(string name)
    {
        lock (Gate) return Tasks.FirstOrDefault(t => t.Name == name);
    }

    /// <summary>The task of that name; an <see cref="InputException"/> listing the registered tasks otherwise.</summary>
    public static ITask Find(string name)
        => TryFind(name) ?? throw new InputException($"task: unknown task '{name}' (registered: {Names<ITask>()})");

    /// <summary>
    /// The task of that name as a <typeparamref name="TFacet"/> (what the caller needs of it); an <see cref="InputException"/>
    /// naming <paramref name="what"/> and the tasks that have it otherwise.
    /// </summary>
    public static TFacet Find<TFacet>(string name, string what) where TFacet : class, ITask
        => Find(name) as TFacet ?? throw new InputException($"task: '{name}' has no {what} (tasks that have: {Names<TFacet>()})");

    /// <summary>The names of the registered tasks that are <typeparamref name="TFacet"/>s, comma-separated.</summary>
    public static string Names<TFacet>(Func<TFacet, bool>? where = null) where TFacet : class, ITask
        => string.Join(", ", All.OfType<TFacet>().Where(t => where?.Invoke(t) ?? true).Select(t => t.Name));
}
