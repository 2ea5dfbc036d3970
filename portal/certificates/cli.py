"""flask --app wsgi authority init-key | certs pdf | certs ofd | certs verify."""
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from portal.certificates import keys, seal_keys
from portal.certificates.authorities import Authority
from portal.certificates.documents import read_signed_pdf, seal_certificate
from portal.certificates.drafts import purge_stale_drafts
from portal.certificates.models import Certificate
from portal.certificates.ofd_documents import verify_certificate_file
from portal.extensions import db

authority_cli = click.Group("authority", help="Issuing authorities: signing keys.")
certs_cli = click.Group("certs", help="Certificates: template, check, import, pdf, ofd, verify.")


@authority_cli.command("init-key")
@click.argument("code")
@click.option("--overwrite", is_flag=True, help="Replace an existing key (old PDFs stay valid).")
@with_appcontext
def init_key_command(code, overwrite):
    """Create a key pair and certificate for authority CODE (USCC or division code) under the dev root CA."""
    code = code.strip().upper()
    authority = db.session.scalar(db.select(Authority).where((Authority.uscc == code) | (Authority.division_code == code)))
    if authority is None:
        raise click.ClickException(f"发证机关 {code} 不存在（请给出统一社会信用代码或行政区划代码）")
    if keys.has_key(authority.uscc) and seal_keys.has_seal_key(authority.uscc) and not overwrite:
        raise click.ClickException(f"{authority.name} 已有签章密钥；如需更换请加 --overwrite")
    keys.init_key(authority.uscc, authority.name, overwrite=overwrite)
    click.echo(f"已为 {authority.name}（{authority.uscc}）生成签章密钥和证书（PDF 用 ECDSA，OFD 电子印章用 SM2；"
               f"私钥加密保存于 PKI 目录）")


@certs_cli.command("pdf")
@click.argument("number")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def pdf_command(number, out):
    """Write the signed PDF of certificate NUMBER to OUT."""
    cert = db.session.scalar(db.select(Certificate).filter_by(number=number.strip()))
    if cert is None:
        raise click.ClickException(f"证书 {number} 不存在")
    if cert.pdf_state != "signed":
        seal_certificate(cert.id)
    data = read_signed_pdf(cert)
    if data is None:
        raise click.ClickException(f"证书 {number} 的电子证照尚未生成：{cert.pdf_error or cert.pdf_state_name}")
    Path(out).write_bytes(data)
    click.echo(f"已写出 {out}（{len(data)} 字节）")


@certs_cli.command("ofd")
@click.argument("number")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def ofd_command(number, out):
    """Write the OFD of certificate NUMBER, under its authority's SM2 electronic seal, to OUT."""
    from portal.certificates import seal_keys
    from portal.certificates.models import Certificate
    from portal.certificates.ofd_documents import certificate_ofd
    cert = db.session.scalar(db.select(Certificate).filter_by(number=number.strip()))
    if cert is None:
        raise click.ClickException(f"证书 {number} 不存在")
    try:
        data = certificate_ofd(cert)
    except seal_keys.CredentialsMissing:
        raise click.ClickException(f"发证机关 {cert.authority_name} 尚未配置 SM2 电子印章，"
                                   f"请先运行 flask authority init-key {cert.authority_uscc}") from None
    Path(out).write_bytes(data)
    click.echo(f"已写出 {out}（{len(data)} 字节）")


@certs_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def verify_command(file):
    """Verify a certificate PDF or OFD: seal valid, document unmodified, certificate not cancelled."""
    data = Path(file).read_bytes()
    result = verify_certificate_file(data)
    for line in result.lines():
        click.echo(line)
    sys.exit(0 if result.ok else 1)


@certs_cli.command("purge-drafts")
@with_appcontext
def purge_drafts_command():
    """Delete draft attachments of 单个录入 older than DRAFT_MAX_AGE_HOURS (from cron in production)."""
    click.echo(f"已删除过期的草稿附件 {purge_stale_drafts()} 个")
