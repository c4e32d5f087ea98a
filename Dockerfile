# A static dsr binary on a minimal, non-root image.
#   docker build -t dsr-intake .
#   docker run --rm -v /etc/dsr:/etc/dsr:ro -v dsr-data:/var/lib/dsr -p 127.0.0.1:8080:8080 dsr-intake
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/dsr ./cmd/dsr

# Debian rather than distroless: scanned and photographed forms are read
# with Debian's Tesseract, ImageMagick, poppler and libheif tools, which
# the parse-pdf child runs (without them dsr runs, and scans stay
# unreadable attachments).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd poppler-utils imagemagick libheif-examples \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 65532 --user-group --home-dir /var/lib/dsr nonroot
COPY --from=build /out/dsr /usr/local/bin/dsr
ENV DSR_CONFIG=/etc/dsr/dsr.toml
WORKDIR /var/lib/dsr
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/dsr"]
CMD ["run"]
