namespace OllamaSocketProxy.Fuzz;

/// <summary>A parser broke one of the harness's invariants: reported to the fuzzer as a crash, which is the finding.</summary>
internal sealed class InvariantViolation(string message) : Exception(message)
{
    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvariantViolation(what);
        }
    }
}
