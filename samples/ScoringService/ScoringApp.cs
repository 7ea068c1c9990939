using DivideAssemble.Hosting;
using DivideAssemble.Imaging;
using DivideAssemble.Onnx;

namespace DivideAssemble.Samples.ScoringService;

/// <summary>
/// A minimal web API that scores uploaded images with a trained model: <c>POST /score</c> with the
/// image file as the request body (PNG, JPEG or BMP) returns the score, the decision and the defect
/// regions as JSON; <c>GET /model</c> describes the model. The model is loaded when the service starts
/// (a bad path or a damaged file stops it with a message naming the file); which backend reads it — a
/// <c>.daad</c> model on TorchSharp or an exported <c>.onnx</c> model on ONNX Runtime — is decided by the
/// file's content, so switching backends is a change of configuration (<c>Model:ModelPath</c>).
/// </summary>
public static class ScoringApp
{
    /// <summary>The largest upload accepted, in bytes.</summary>
    public const long MaxUploadBytes = 32 << 20;

    /// <summary>Builds the application; <paramref name="configure"/> lets a test replace the server.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services
            .AddDivideAssemble()
            .AddTorchSharp()
            .AddOnnxRuntime()
            .Options.BindConfiguration("Model");
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapGet("/model", (IAnomalyScorer scorer) => Results.Ok(new
        {
            variant = scorer.Options.Network.Variant.ToString(),
            imageSize = scorer.ImageSize,
            channels = scorer.Channels,
            threshold = scorer.Options.Scoring.Threshold ?? scorer.Calibration?.Threshold,
        }));
        app.MapPost("/score", async (HttpRequest request, IAnomalyScorer scorer, CancellationToken cancellationToken) =>
        {
            if (request.ContentLength is > MaxUploadBytes)
            {
                return Results.Problem($"The image is larger than {MaxUploadBytes >> 20} MB.", statusCode: StatusCodes.Status413PayloadTooLarge);
            }

            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            buffer.Position = 0;
            AnomalyResult result;
            try
            {
                result = scorer.Score(buffer);
            }
            catch (InvalidDataException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest);
            }

            return Results.Ok(new
            {
                score = result.Score,
                threshold = result.Threshold,
                anomalous = result.IsAnomalous,
                regions = result.Regions.Select(r => new { x = r.X, y = r.Y, width = r.Width, height = r.Height, area = r.Area, peak = r.PeakScore }),
            });
        });
        return app;
    }
}
