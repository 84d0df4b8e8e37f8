namespace AutogradKit;

/// <summary>
/// Graphviz's <c>dot</c> program, which <see cref="AutogradGraph.RenderSvg"/> needs, is not installed: no executable
/// <c>dot</c> is on the PATH. <see cref="FileNotFoundException.FileName"/> is <c>"dot"</c>.
/// </summary>
/// <remarks>Thread-safety: immutable.</remarks>
public sealed class GraphvizNotFoundException : FileNotFoundException
{
    /// <summary>Creates the exception.</summary>
    public GraphvizNotFoundException()
        : base("Graphviz's 'dot' program was not found on the PATH; install Graphviz (e.g. apt-get install graphviz, brew install graphviz, or choco install graphviz) to render autograd graphs.", "dot")
    {
    }
}
