FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY events events
COPY service service
COPY migrations migrations
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["sh", "-c", "python -m service migrate && exec python -m service serve"]
