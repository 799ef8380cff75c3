FROM python:3.11-slim
WORKDIR /srv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir -e .
ENV ZWR_HOST=0.0.0.0 ZWR_PORT=8000
EXPOSE 8000
# Migrate, then serve; all configuration comes from ZWR_* environment variables.
CMD ["sh", "-c", "zoo-registry db upgrade && zoo-registry serve"]
