namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>The <c># TYPE</c> of a metric family.</summary>
public enum PrometheusMetricType
{
    /// <summary>A total that only grows (the samples end in <c>_total</c>).</summary>
    Counter,

    /// <summary>A value that goes up and down.</summary>
    Gauge,

    /// <summary>Cumulative <c>_bucket</c> counts by upper bound <c>le</c>, with <c>_sum</c> and <c>_count</c>.</summary>
    Histogram,
}
